"""/t/<slug>/ routing: who may enter which tenant, and what others see (404, never data)."""

from __future__ import annotations

import pytest

from tenants import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TENANT_URLS = ["/t/{slug}/", "/t/{slug}/api/v1/", "/t/{slug}/api/v1/settings/"]


def test_anonymous_browser_is_sent_to_login(client, tenant_a):
    response = client.get(f"/t/{tenant_a.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/t/tenant-a/")


def test_anonymous_login_redirect_does_not_reveal_whether_a_tenant_exists(client, tenant_a):
    known = client.get("/t/tenant-a/")
    unknown = client.get("/t/no-such-tenant/")
    assert known.status_code == unknown.status_code == 302


def test_anonymous_api_call_is_refused_as_if_the_tenant_did_not_exist(client, tenant_a):
    response = client.get(f"/t/{tenant_a.slug}/api/v1/settings/")
    unknown = client.get("/t/no-such-tenant/api/v1/settings/")
    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()
    assert response["Content-Type"] == unknown["Content-Type"] == "application/problem+json"
    assert tenant_a.azure_tenant_id not in response.content.decode()
    public = client.get("/api/v1/tenants/")
    assert public.status_code == 401 and public["WWW-Authenticate"].startswith("Bearer")


def test_unknown_slug_is_404_even_for_the_msp_admin(client_for, msp_admin):
    assert client_for(msp_admin).get("/t/no-such-tenant/").status_code == 404
    assert client_for(msp_admin).get("/t/no-such-tenant/api/v1/").status_code == 404


def test_customer_user_enters_own_tenant_and_sees_its_page(client_for, customer_a, tenant_a):
    response = client_for(customer_a).get(f"/t/{tenant_a.slug}/")
    assert response.status_code == 200
    assert tenant_a.name in response.content.decode()


def test_msp_staff_enter_any_customer_tenant(client_for, msp_engineer, tenant_a, tenant_b):
    client = client_for(msp_engineer)
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert client.get(f"/t/{tenant_b.slug}/api/v1/settings/").status_code == 200


def test_msp_user_without_the_enter_permission_is_refused(client_for, tenant_a):
    from accounts.models import Role

    role = Role.objects.create(name="Fleet only", scope="msp", permissions=["tenants.view_tenant"])
    user = UserFactory(role=role)
    assert client_for(user).get(f"/t/{tenant_a.slug}/").status_code == 404


def test_superuser_flag_alone_does_not_open_customer_tenants(client_for, tenant_a, tenant_b):
    user = UserFactory(
        tenant=tenant_b, role_name="Customer Viewer", is_superuser=True, is_staff=False
    )
    assert client_for(user).get(f"/t/{tenant_a.slug}/").status_code == 404


def test_inactive_tenant_cannot_be_entered(client_for, msp_admin, tenant_a):
    services.set_tenant_active(tenant_a, active=False)
    assert client_for(msp_admin).get(f"/t/{tenant_a.slug}/").status_code == 404


@pytest.mark.parametrize("url", TENANT_URLS)
def test_every_tenant_url_is_isolated_between_customers(
    assert_isolated, url, tenant_a, customer_a, customer_b
):
    assert_isolated(url, tenant=tenant_a, owner=customer_a, intruder=customer_b)


@pytest.mark.parametrize("url", TENANT_URLS)
def test_every_tenant_url_is_isolated_the_other_way(
    assert_isolated, url, tenant_b, customer_a, customer_b
):
    assert_isolated(url, tenant=tenant_b, owner=customer_b, intruder=customer_a)


def test_reverse_inside_a_tenant_yields_tenant_urls(client_for, customer_a, tenant_a):
    response = client_for(customer_a).get(f"/t/{tenant_a.slug}/api/v1/")
    assert response.json()["settings"].endswith("/t/tenant-a/api/v1/settings/")


def test_settings_api_returns_current_version_with_tenant_identity(
    client_for, customer_a, tenant_a
):
    body = client_for(customer_a).get(f"/t/{tenant_a.slug}/api/v1/settings/").json()
    assert body["tenant"] == {"id": tenant_a.pk, "slug": "tenant-a"}
    assert body["polling_settings"]["interval_minutes"] >= 1


def test_settings_api_patch_creates_a_version_and_updates_the_schedule(
    client_for, msp_engineer, tenant_a
):
    from django_celery_beat.models import PeriodicTask

    response = client_for(msp_engineer).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/",
        data={"polling_settings": {"enabled": True, "interval_minutes": 42}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["changed_by"] == msp_engineer.username
    assert PeriodicTask.objects.get(name=f"poll-tenant:{tenant_a.slug}").interval.every == 42


def test_settings_api_invalid_json_schema_is_a_400_with_field_errors(
    client_for, msp_engineer, tenant_a
):
    before = tenant_a.settings_versions.count()
    response = client_for(msp_engineer).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/",
        data={"polling_settings": {"enabled": True, "interval_minutes": -5}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "polling_settings" in response.json()["errors"]
    assert "interval_minutes" in response.json()["errors"]["polling_settings"][0]
    assert tenant_a.settings_versions.count() == before


def test_settings_api_malformed_json_body_is_a_400(client_for, msp_engineer, tenant_a):
    response = client_for(msp_engineer).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_customer_viewer_cannot_change_settings(client_for, customer_a, tenant_a):
    response = client_for(customer_a).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/",
        data={"polling_settings": {"enabled": False, "interval_minutes": 5}},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_public_tenant_api_lists_and_onboards_for_msp_admin(client_for, msp_admin, tenant_a):
    client = client_for(msp_admin)
    listed = client.get("/api/v1/tenants/").json()
    assert "tenant-a" in {row["slug"] for row in listed["results"]}
    created = client.post(
        "/api/v1/tenants/",
        data={
            "name": "Api Co",
            "slug": "api-co",
            "azure_tenant_id": "0a0b0c0d-0000-4000-8000-000000000001",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["schema_name"] == "api_co"


def test_public_tenant_api_reports_field_errors(client_for, msp_admin):
    response = client_for(msp_admin).post(
        "/api/v1/tenants/",
        data={"name": "Bad", "slug": "public", "azure_tenant_id": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"slug", "azure_tenant_id"}


def test_public_tenant_api_is_closed_to_customer_users(client_for, customer_a):
    response = client_for(customer_a).get("/api/v1/tenants/")
    assert response.status_code == 403
    assert "tenant-b" not in response.content.decode()


def test_landing_page_sends_each_user_to_the_right_place(client_for, msp_admin, customer_a):
    assert client_for(msp_admin).get("/")["Location"] == "/admin/fleet/"
    assert client_for(customer_a).get("/")["Location"] == "/t/tenant-a/"
