"""End to end through the simulator: Azure's own churn is never drift, and the mutator's
changes are rated by the rule pack (not by the fallback)."""

from __future__ import annotations

import pytest

from tests.drift.helpers import detect, open_findings

pytestmark = pytest.mark.django_db


def test_volatile_churn_of_every_resource_opens_no_finding(collected, collect, sim_client):
    churned = sim_client.churn_volatile(collected.azure_tenant_id, seed=1)
    assert churned >= 40, "most resources carry read-only properties that move"
    run = collect(collected)
    assert run.status == "succeeded"
    report = detect(collected)
    assert report.opened == 0 and report.resources_drifted == 0, [
        (f.resource_type, f.path) for f in open_findings(collected)
    ]


def test_mutator_changes_are_rated_by_the_pack(collected, collect, sim_client):
    steps = sim_client._call(
        "POST", "mutator/step", {"tenant_id": collected.azure_tenant_id, "count": 60, "seed": 4}
    )["value"]
    assert len(steps) >= 30
    collect(collected)
    detect(collected)
    findings = open_findings(collected)
    rated = {f.resource_type for f in findings if f.matched_rule != "default"}
    assert len(rated) >= 5, rated
    assert any(f.severity in ("high", "critical") for f in findings)
    assert all(f.matched_rule != "default" for f in findings if not f.path.startswith("tags")), [
        (f.resource_type, f.path) for f in findings if f.matched_rule == "default"
    ]


def test_a_normalisation_rules_change_is_not_drift_and_refreshes_the_baseline(collected):
    """Baselines approved under older rules (a null kept, a volatile status kept) are
    brought to the current form instead of being reported as removed values."""
    from configurations.models import Configuration
    from drift.models import BaselineEntry
    from tests.drift.helpers import in_schema

    def age_entries():
        entries = list(
            BaselineEntry.objects.filter(resource_type="microsoft.sql/servers/databases")
        )
        for entry in entries:
            entry.config = {
                **entry.config,
                "zones": None,
                "properties": {**entry.config["properties"], "status": "Online"},
            }
            entry.config_hash = "0" * 64
            entry.normalized_with = ""  # approved under older rules
        BaselineEntry.objects.bulk_update(entries, ["config", "config_hash", "normalized_with"])
        return [e.resource_id for e in entries]

    aged = in_schema(collected, age_entries)
    assert aged
    # A rules change changes the normaliser's fingerprint, so the next pass compares every
    # resource (tests/drift/test_incremental.py); entries edited in place need it asked for.
    report = detect(collected, full=True)
    assert report.opened == 0 and report.resources_drifted == 0
    current = in_schema(
        collected,
        lambda: dict(
            Configuration.objects.filter(resource_id__in=aged).values_list(
                "resource_id", "config_hash"
            )
        ),
    )
    stored = in_schema(
        collected,
        lambda: dict(
            BaselineEntry.objects.filter(resource_id__in=aged).values_list(
                "resource_id", "config_hash"
            )
        ),
    )
    assert stored == current, "refreshed once, so later passes compare hashes only"
