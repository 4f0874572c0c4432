"""Drift API: findings list and CSV/JSON exports, each isolated between tenants."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.utils import timezone

from drift.models import DriftReport
from tests.factories import DriftFindingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_with_finding(tenant_a):
    connection.set_tenant(tenant_a)
    now = timezone.now()
    report = DriftReport.objects.create(
        started_at=now, finished_at=now, by_severity={"critical": 1}
    )
    DriftFindingFactory(
        resource_id="/subscriptions/s/resourcegroups/rg/providers/microsoft.network/networksecuritygroups/nsg-ü",
        changed_by="mallory@x",
        last_report=report,
    )
    connection.set_schema_to_public()
    return report


URLS = [
    "/t/{slug}/api/v1/drift/findings/",
    "/t/{slug}/api/v1/drift/findings/export/",
    "/t/{slug}/api/v1/drift/findings/export/?as=json",
    "/t/{slug}/api/v1/drift/reports/{pk}/export/",
]


@pytest.mark.parametrize("url", URLS)
def test_drift_api_is_isolated(
    assert_isolated, url, tenant_a, customer_a, customer_b, report_with_finding
):
    assert_isolated(
        url.replace("{pk}", str(report_with_finding.pk)),
        tenant=tenant_a,
        owner=customer_a,
        intruder=customer_b,
        secrets=("nsg-", "mallory@x"),
    )


def test_open_findings_export_as_csv_names_the_tenant(
    client_for, customer_a, tenant_a, report_with_finding
):
    response = client_for(customer_a).get(f"/t/{tenant_a.slug}/api/v1/drift/findings/export/")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="tenant-a-open-findings.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [(r["tenant"], r["severity"], r["current_value"]) for r in rows] == [
        ("tenant-a", "critical", "Allow")
    ]
    assert rows[0]["resource_id"].endswith("nsg-ü")


def test_report_export_as_json_has_summary_and_findings(
    client_for, customer_a, tenant_a, report_with_finding
):
    body = (
        client_for(customer_a)
        .get(f"/t/{tenant_a.slug}/api/v1/drift/reports/{report_with_finding.pk}/export/?as=json")
        .json()
    )
    assert body["tenant"]["slug"] == "tenant-a"
    assert body["report"]["by_severity"] == {"critical": 1}
    assert body["findings"][0]["path"] == "properties.securityRules.open-ssh.properties.access"
