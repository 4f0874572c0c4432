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


def test_fleet_counts_link_to_the_same_findings_they_count(
    client_for, msp_admin, tenant_a, in_tenant
):
    from tenants.models import TenantStatus

    TenantStatus.objects.update_or_create(
        tenant=tenant_a, defaults={"open_findings": {"critical": 1, "low": 1}}
    )
    body = client_for(msp_admin).get("/admin/fleet/").content.decode()
    assert "/t/tenant-a/admin/drift/driftfinding/?status=unresolved" in body
    in_tenant(tenant_a)
    open_one = DriftFindingFactory(severity="critical")
    acknowledged = DriftFindingFactory(severity="low", status="acknowledged")
    resolved = DriftFindingFactory(severity="high", status="resolved")
    from django.db import connection

    connection.set_schema_to_public()
    listing = (
        client_for(msp_admin)
        .get("/t/tenant-a/admin/drift/driftfinding/?status=unresolved")
        .content.decode()
    )
    assert f'href="{open_one.pk}/change/"' in listing
    assert f'href="{acknowledged.pk}/change/"' in listing
    assert f'href="{resolved.pk}/change/"' not in listing


def test_fleet_explains_an_empty_trend_and_sorts_by_trend(client_for, msp_admin, tenant_a):
    body = client_for(msp_admin).get("/admin/fleet/?o=-trend").content.decode()
    assert 'id="trend-empty"' in body
    assert "?o=trend" in body, "the trend header toggles its own sort"


def test_trend_sort_key_is_the_change_over_the_window():
    from tenants.selectors import trend_change

    assert trend_change([None, 2, 3, 9]) == 7
    assert trend_change([None, None, 4]) == 0
    assert trend_change([5, 1]) == -4


def test_pages_outside_the_admin_have_the_product_look(client, settings, db):
    settings.DEBUG = False
    page = client.get("/accounts/login/").content.decode()
    assert 'class="site"' in page and "Sign in with Microsoft" in page
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "This page does not exist" in missing.content.decode()


def test_demo_origins_follow_web_addr():
    from tenants.management.commands.setup_demo import demo_web_origins

    assert demo_web_origins("127.0.0.1:8613") == [
        "http://127.0.0.1:8613",
        "http://localhost:8613",
    ]
    assert demo_web_origins("10.1.2.3:9000") == ["http://10.1.2.3:9000"]


def test_a_second_demo_start_sees_the_first_one(capsys):
    import socket

    from driftdetector import devservices

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        addr = f"127.0.0.1:{listener.getsockname()[1]}"
        assert devservices.main(["check-web", addr]) == 1
        assert "already running" in capsys.readouterr().err
    assert devservices.main(["check-web", addr]) == 0
