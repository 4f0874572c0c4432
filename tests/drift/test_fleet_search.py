"""MSP staff's cross-tenant findings search: one UNION ALL statement per batch of tenant
schemas, merged most severe first, each row naming its tenant, access decided per tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from drift import selectors
from tests.factories import DriftFindingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def findings(tenant_a, tenant_b):
    """Tenant A: an older high and a low; tenant B: a critical and a newer high."""
    now = timezone.now()
    made = {}
    connection.set_tenant(tenant_a)
    made["a_high"] = DriftFindingFactory(severity="high", last_seen=now - timedelta(hours=2)).pk
    made["a_low"] = DriftFindingFactory(severity="low", last_seen=now).pk
    connection.set_tenant(tenant_b)
    made["b_critical"] = DriftFindingFactory(
        severity="critical", last_seen=now - timedelta(days=1)
    ).pk
    made["b_high"] = DriftFindingFactory(
        severity="high", last_seen=now - timedelta(hours=1), status="acknowledged"
    ).pk
    connection.set_schema_to_public()
    return made


def _ours(rows, tenant_a, tenant_b):
    """(tenant slug, finding id) of rows of the two test tenants (other tests' tenants may
    have committed findings of their own)."""
    slugs = {tenant_a.slug, tenant_b.slug}
    return [(row["tenant"]["slug"], row["id"]) for row in rows if row["tenant"]["slug"] in slugs]


@pytest.mark.parametrize("batch", [1, 2, 200])
def test_tenants_merge_most_severe_then_newest_whatever_the_batch(
    batch, monkeypatch, findings, tenant_a, tenant_b, msp_admin
):
    monkeypatch.setattr(selectors, "FLEET_FINDINGS_BATCH", batch)
    rows = selectors.fleet_findings(user=msp_admin, limit=100)
    assert _ours(rows, tenant_a, tenant_b) == [
        (tenant_b.slug, findings["b_critical"]),
        (tenant_b.slug, findings["b_high"]),
        (tenant_a.slug, findings["a_high"]),
        (tenant_a.slug, findings["a_low"]),
    ]
    row = next(
        r for r in rows if r["id"] == findings["b_high"] and r["tenant"]["id"] == tenant_b.pk
    )
    assert row["status"] == "acknowledged" and row["severity"] == "high"


def test_limit_applies_across_batches(monkeypatch, findings, tenant_a, tenant_b, msp_admin):
    monkeypatch.setattr(selectors, "FLEET_FINDINGS_BATCH", 1)
    rows = selectors.fleet_findings(user=msp_admin, limit=2, tenant=None)
    assert len(rows) == 2
    assert all(row["severity"] in ("critical", "high") for row in rows)


def test_filters_and_tenant_slug(findings, tenant_a, tenant_b, msp_admin):
    highs = selectors.fleet_findings(user=msp_admin, limit=100, severity="high")
    assert set(_ours(highs, tenant_a, tenant_b)) == {
        (tenant_a.slug, findings["a_high"]),
        (tenant_b.slug, findings["b_high"]),
    }
    acknowledged = selectors.fleet_findings(user=msp_admin, limit=100, status="acknowledged")
    assert _ours(acknowledged, tenant_a, tenant_b) == [(tenant_b.slug, findings["b_high"])]
    only_a = selectors.fleet_findings(user=msp_admin, limit=100, tenant=tenant_a.slug)
    assert {row["tenant"]["slug"] for row in only_a} == {tenant_a.slug}
    assert len(only_a) == 2


def test_access_is_decided_per_tenant(findings, tenant_a, tenant_b, msp_admin):
    tenant_b.is_active = False
    tenant_b.save(update_fields=["is_active"])
    rows = selectors.fleet_findings(user=msp_admin, limit=100)
    assert {slug for slug, _ in _ours(rows, tenant_a, tenant_b)} == {tenant_a.slug}
    customer = UserFactory(tenant=tenant_a, role_name="Customer Viewer")
    # A customer user is only ever allowed into their own tenant, never tenant B's schema.
    mine = selectors.fleet_findings(user=customer, limit=100)
    assert {row["tenant"]["slug"] for row in mine} <= {tenant_a.slug}


def test_the_connections_schema_is_left_alone(findings, tenant_a, msp_admin):
    connection.set_tenant(tenant_a)
    try:
        selectors.fleet_findings(user=msp_admin, limit=10)
        assert connection.schema_name == tenant_a.schema_name
    finally:
        connection.set_schema_to_public()
