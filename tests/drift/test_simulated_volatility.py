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
