"""Onboarding's Test connection and poll progress; the customer's posture page."""

from __future__ import annotations

import html

import pytest
from django_tenants.utils import tenant_context

from tests.factories import DriftFindingFactory

pytestmark = pytest.mark.django_db


def test_test_connection_runs_the_preflight_on_the_unsaved_form(
    client_for, msp_admin, make_tenant, azure_tenant, tenant_a
):
    azure_tenant(tenant_a)  # points the product's endpoints at the simulator
    simulated = make_tenant(subscriptions=1, resources=10)
    body = (
        client_for(msp_admin)
        .post(
            "/admin/tenants/tenant/preflight/",
            {
                "azure_tenant_id": simulated["tenant_id"],
                "new_client_id": simulated["client_id"],
                "new_client_secret": simulated["client_secret"],
            },
        )
        .content.decode()
    )
    assert "all checks passed" in body, body
    assert simulated["client_secret"] not in body, "the secret is never echoed"


def test_test_connection_explains_azures_error_code(
    client_for, msp_admin, make_tenant, azure_tenant, tenant_a
):
    azure_tenant(tenant_a)
    simulated = make_tenant(subscriptions=1, resources=10)
    body = html.unescape(
        client_for(msp_admin)
        .post(
            "/admin/tenants/tenant/preflight/",
            {
                "azure_tenant_id": simulated["tenant_id"],
                "new_client_id": simulated["client_id"],
                "new_client_secret": "not-the-secret",
            },
        )
        .content.decode()
    )
    assert "AADSTS7000215" in body
    assert "The client secret is not valid for this application." in body
    assert "paste the secret's value" in body


def test_test_connection_with_missing_input_says_what_is_missing(client_for, msp_admin):
    body = (
        client_for(msp_admin)
        .post("/admin/tenants/tenant/preflight/", {"azure_tenant_id": "nope"})
        .content.decode()
    )
    assert "Cannot test yet" in body and "GUID" in body


def test_the_tenant_page_shows_poll_progress_and_links_back_to_the_fleet(
    client_for, msp_admin, tenant_a, azure_tenant, collect
):
    azure_tenant(tenant_a, resources=20, subscriptions=1)
    collect(tenant_a)
    client = client_for(msp_admin)
    body = client.get(f"/admin/tenants/tenant/{tenant_a.pk}/change/").content.decode()
    assert 'href="/admin/fleet/"' in body
    assert "succeeded" in body and "Test connection" in body
    fragment = client.get(f"/admin/tenants/tenant/{tenant_a.pk}/progress/").content.decode()
    assert 'data-running="0"' in fragment and "succeeded" in fragment


def test_the_msp_tenant_is_not_listed_among_customers(client_for, msp_admin, tenant_a):
    from tenants.selectors import public_tenant

    body = client_for(msp_admin).get("/admin/tenants/tenant/").content.decode()
    assert f'href="/admin/tenants/tenant/{tenant_a.pk}/change/' in body
    assert f'href="/admin/tenants/tenant/{public_tenant().pk}/change/' not in body


def test_customer_page_shows_their_posture_read_only(client_for, customer_a, tenant_a):
    with tenant_context(tenant_a):
        DriftFindingFactory(severity="critical", changed_by="mallory@contoso.com")
        DriftFindingFactory(severity="low", status="acknowledged")
        DriftFindingFactory(severity="high", status="resolved")
    body = client_for(customer_a).get("/t/tenant-a/").content.decode()
    counts = body[body.index('id="severity-counts"') : body.index("Open findings")]
    assert '<span class="n">1</span><span>critical</span>' in counts
    assert '<span class="n">0</span><span>high</span>' in counts, "resolved is not open"
    assert '<span class="n">1</span><span>low</span>' in counts, "acknowledged still counts"
    assert "mallory@contoso.com" in body
    assert "Last successful check" in body
    main = body[body.index("<main") :]
    assert "<form" not in main and "<button" not in main, "read-only"


def test_customer_page_is_isolated_between_tenants(
    assert_isolated, tenant_a, customer_a, customer_b
):
    with tenant_context(tenant_a):
        DriftFindingFactory(changed_by="secret-operator@tenant-a.example")
    assert_isolated(
        "/t/{slug}/",
        tenant=tenant_a,
        owner=customer_a,
        intruder=customer_b,
        secrets=("secret-operator@tenant-a.example",),
    )
