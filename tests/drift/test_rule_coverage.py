"""``manage.py rule_coverage``: the pack measured against what the catalogues audit."""

from __future__ import annotations

import json

from django.core.management import call_command

from drift.coverage import coverage, load_catalogue, summary
from drift.severity import build_rule_set

SIMULATED = {
    "microsoft.network/virtualnetworks",
    "microsoft.network/networksecuritygroups",
    "microsoft.network/publicipaddresses",
    "microsoft.network/networkinterfaces",
    "microsoft.compute/disks",
    "microsoft.compute/virtualmachines",
    "microsoft.storage/storageaccounts",
    "microsoft.keyvault/vaults",
    "microsoft.sql/servers",
    "microsoft.sql/servers/databases",
    "microsoft.web/serverfarms",
    "microsoft.web/sites",
    "microsoft.authorization/roleassignments",
    "microsoft.operationalinsights/workspaces",
    "microsoft.insights/actiongroups",
    "microsoft.authorization/policyassignments",
}


def test_every_simulated_type_is_catalogued_and_mostly_covered():
    rows = {r.resource_type: r for r in coverage()}
    assert set(rows) >= SIMULATED
    for resource_type in SIMULATED:
        row = rows[resource_type]
        assert len(row.covered) >= len(row.audited) - 2, (resource_type, row.missing)


def test_a_property_without_a_rule_is_reported_missing():
    catalogue = {"microsoft.example/things": {"properties.unwatched": "-", "(removed)": "-"}}
    (row,) = coverage(catalogue, build_rule_set({}))
    assert row.covered == () and row.missing == ("properties.unwatched", "(removed)")
    rule = {"resource_type": "microsoft.example/*", "path": "unwatched$", "severity": "low"}
    rules = build_rule_set({"rules": [rule]})
    (row,) = coverage(catalogue, rules)
    assert row.covered == ("properties.unwatched",)


def test_the_command_prints_the_table_and_the_figure(capsys):
    call_command("rule_coverage", "--missing")
    out = capsys.readouterr().out.splitlines()
    totals = summary(coverage(), 0)
    assert out[-1].startswith(f"coverage: {totals['covered']}/{totals['audited']} ")
    assert len(out) == len(load_catalogue()) + 1
    call_command("rule_coverage", "--format", "json")
    body = json.loads(capsys.readouterr().out)
    assert body["total"]["covered"] == totals["covered"] and body["total"]["rules"] >= 100
