"""Severity in one place (ordered by rank everywhere), the rule behind a finding shown in
the API and the admin, scoped ignore rules, and the drift task's time limit."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.utils import timezone

from drift import selectors, services
from drift.choices import SEVERITIES, most_severe, severity_rank
from drift.models import DriftFinding, DriftReport
from drift.severity import SEVERITIES as ENGINE_SEVERITIES
from drift.severity import severity_rank as engine_rank
from tenants.selectors import current_settings
from tests.factories import DriftFindingFactory

pytestmark = pytest.mark.django_db

ORDER_IN_NAME = ["critical", "high", "low", "medium"]  # what sorting by name would give


def test_one_vocabulary_ordered_by_rank():
    assert SEVERITIES == ENGINE_SEVERITIES == ("low", "medium", "high", "critical")
    assert [s for s, _ in DriftFinding.Severity.choices] == list(SEVERITIES)
    assert sorted(ORDER_IN_NAME, key=severity_rank) == list(SEVERITIES)
    assert engine_rank("high") > engine_rank("medium")
    assert most_severe(["medium", "critical", "low"]) == "critical"
    with pytest.raises(ValueError):
        severity_rank("urgent")


@pytest.fixture
def mixed_findings(tenant_a):
    connection.set_tenant(tenant_a)
    now = timezone.now()
    report = DriftReport.objects.create(started_at=now, finished_at=now)
    for n, severity in enumerate(["medium", "low", "critical", "high"]):
        DriftFindingFactory(
            severity=severity,
            path=f"properties.p{n}",
            last_report=report,
            matched_rule="Storage accepts HTTP"
            if severity == "high"
            else "Storage accepts HTTP (secure direction)",
            resource_type="microsoft.storage/storageaccounts",
        )
    connection.set_schema_to_public()
    return report


def test_api_orders_findings_by_rank_not_by_name(client_for, customer_a, tenant_a, mixed_findings):
    client = client_for(customer_a)
    export = client.get(f"/t/{tenant_a.slug}/api/v1/drift/findings/export/").getvalue().decode()
    assert [r["severity"] for r in csv.DictReader(io.StringIO(export))] == list(
        reversed(SEVERITIES)
    )
    report = client.get(
        f"/t/{tenant_a.slug}/api/v1/drift/reports/{mixed_findings.pk}/export/?as=json"
    ).json()
    assert [f["severity"] for f in report["findings"]] == list(reversed(SEVERITIES))
    listed = client.get(f"/t/{tenant_a.slug}/api/v1/drift/findings/?order=severity").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [f["severity"] for f in rows] == list(reversed(SEVERITIES))


def test_the_finding_carries_its_rules_rationale_and_reference(
    client_for, customer_a, tenant_a, mixed_findings
):
    listed = client_for(customer_a).get(f"/t/{tenant_a.slug}/api/v1/drift/findings/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    by_severity = {f["severity"]: f["rule"] for f in rows}
    assert by_severity["high"]["name"] == "Storage accepts HTTP"
    assert by_severity["high"]["source"] == "pack" and by_severity["high"]["id"]
    assert "clear text" in by_severity["high"]["rationale"]
    assert "storage_secure_transfer_required_is_enabled" in by_severity["high"]["reference"]
    assert by_severity["low"]["name"] == "Storage accepts HTTP", "secure-direction note dropped"


def test_the_detect_drift_command_lists_unresolved_findings_most_severe_first(
    tenant_a, mixed_findings
):
    """What ``manage.py detect_drift`` prints after its pass, in the order it prints it."""
    connection.set_tenant(tenant_a)
    DriftFindingFactory(severity="critical", status="resolved", path="properties.gone")
    DriftFindingFactory(
        severity="low", status="acknowledged", resource_id="/subscriptions/zz/seen", path="p"
    )
    listed = list(selectors.unresolved_findings_most_severe_first())
    connection.set_schema_to_public()
    assert [(f.severity, f.status) for f in listed] == [
        ("critical", "open"),
        ("high", "open"),
        ("medium", "open"),
        ("low", "open"),
        ("low", "acknowledged"),  # same rank: by resource id
    ]


def test_the_admin_orders_by_rank_and_shows_why(client_for, msp_admin, tenant_a, mixed_findings):
    client = client_for(msp_admin)
    base = f"/t/{tenant_a.slug}/admin/drift/driftfinding/"
    html = client.get(base + "?o=1").content.decode()  # column 1 (severity) ascending
    shown = re.findall(r'class="field-sev"><span class="sev sev-(\w+)"', html)
    assert shown == list(SEVERITIES)
    connection.set_tenant(tenant_a)
    finding = DriftFinding.objects.get(severity="high")
    connection.set_schema_to_public()
    page = client.get(f"{base}{finding.pk}/change/").content.decode()
    headline = page[page.index('id="finding-headline"') :]
    assert "Rated <strong>high</strong> by rule" in headline
    assert "storage_secure_transfer_required_is_enabled" in headline


def test_the_fleet_puts_the_worst_tenant_first_by_rank(tenant_a, tenant_b):
    from tenants.models import TenantStatus
    from tenants.selectors import fleet_rows

    TenantStatus.objects.update_or_create(
        tenant=tenant_a, defaults={"open_findings": {"critical": 1, "low": 50}}
    )
    TenantStatus.objects.update_or_create(
        tenant=tenant_b, defaults={"open_findings": {"high": 40, "medium": 40}}
    )
    slugs = [row["tenant"].slug for row in fleet_rows("-worst")]
    assert [s for s in slugs if s in (tenant_a.slug, tenant_b.slug)] == [
        tenant_a.slug,
        tenant_b.slug,
    ]


@pytest.mark.parametrize(
    ("scope", "same_group_other_resource", "other_group_same_type"),
    [("resource", False, False), ("type", True, True), ("group", True, False)],
)
def test_scoped_ignore_rules(tenant_a, scope, same_group_other_resource, other_group_same_type):
    from drift.severity import build_rule_set
    from tests.drift.test_rule_pack import _drift

    connection.set_tenant(tenant_a)
    try:
        finding = DriftFindingFactory(
            resource_id="/subscriptions/s/resourcegroups/rg-a/providers/microsoft.storage/storageaccounts/st1",
            resource_type="microsoft.storage/storageaccounts",
            path="properties.minimumTlsVersion",
        )
        services.ignore_finding_paths([finding.pk], actor="t", scope=scope)
        thresholds = current_settings(tenant_a).drift_thresholds
    finally:
        connection.set_schema_to_public()
    rules = build_rule_set(thresholds)

    def ignored(resource_id):
        drift = _drift(
            "microsoft.storage/storageaccounts",
            {"properties": {"minimumTlsVersion": "TLS1_2"}},
            {"properties": {"minimumTlsVersion": "TLS1_0"}},
        )
        drift = type(drift)(resource_id, *list(drift.__dict__.values())[1:])
        return rules.resource_severity(drift)[1][0][1] == "ignore"

    group_a = "/subscriptions/s/resourcegroups/rg-a/providers/microsoft.storage/storageaccounts/"
    group_b = "/subscriptions/s/resourcegroups/rg-b/providers/microsoft.storage/storageaccounts/"
    assert ignored(group_a + "st1")
    assert ignored(group_a + "st2") is same_group_other_resource
    assert ignored(group_b + "st3") is other_group_same_type


def test_a_pass_over_its_soft_time_limit_is_stopped_and_its_report_marked(
    tenant_a, monkeypatch, settings
):
    from celery.exceptions import SoftTimeLimitExceeded

    from drift import tasks

    assert tasks.detect_drift.soft_time_limit < tasks.detect_drift.time_limit

    def slow_pass(tenant, **_):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "run_detection", slow_pass)
    connection.set_tenant(tenant_a)
    try:
        result = tasks.detect_drift.run()
        report = DriftReport.objects.get()
    finally:
        connection.set_schema_to_public()
    assert result["tenant"] == tenant_a.slug and "soft time limit" in result["error"]
    assert report.finished_at is not None and "soft time limit" in report.error


def test_tenant_rules_override_msp_defaults_which_override_the_pack(tenant_a):
    from drift.selectors import detection_rules
    from tenants.selectors import public_tenant
    from tenants.services import update_settings
    from tests.drift.test_rule_pack import _drift

    tls = _drift(
        "microsoft.storage/storageaccounts",
        {"properties": {"minimumTlsVersion": "TLS1_2"}},
        {"properties": {"minimumTlsVersion": "TLS1_0"}},
    )

    def rated():
        _, rules, problems = detection_rules(tenant_a)
        assert problems == []
        return rules.classify(tls, tls.changes[0])

    assert rated() == ("high", "Storage TLS below 1.2")
    msp_rule = {
        "name": "MSP: weak TLS is critical for us",
        "resource_type": "microsoft.storage/*",
        "path": "^properties\\.minimumTlsVersion$",
        "severity": "critical",
    }
    update_settings(public_tenant(), actor="msp", drift_thresholds={"rules": [msp_rule]})
    assert rated() == ("critical", "MSP: weak TLS is critical for us")
    tenant_rule = {**msp_rule, "name": "accepted here", "severity": "low"}
    update_settings(tenant_a, actor="t", drift_thresholds={"rules": [tenant_rule]})
    assert rated() == ("low", "accepted here")
