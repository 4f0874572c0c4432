"""The MSP admin: onboarding form, settings versions with JSON Schema errors, fleet page."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from tenants.models import Tenant
from tests.factories import new_azure_tenant_id

pytestmark = pytest.mark.django_db


def test_admin_onboards_a_tenant_with_a_new_credential_so_it_can_be_polled(client_for, msp_admin):
    response = client_for(msp_admin).post(
        "/admin/tenants/tenant/add/",
        {
            "name": "Admin Made",
            "slug": "admin-made",
            "azure_tenant_id": new_azure_tenant_id(),
            "new_credential_name": "admin-made app",
            "new_client_id": "11111111-2222-3333-4444-555555555555",
            "new_client_secret": "s3cret-value-typed-once",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(slug="admin-made")
    assert response["Location"].endswith(f"/admin/tenants/tenant/{tenant.pk}/change/")
    assert tenant.schema_name == "admin_made"
    assert tenant.azure_credential.name == "admin-made app"
    assert tenant.azure_credential.client_secret == "s3cret-value-typed-once"
    assert PeriodicTask.objects.filter(name="poll-tenant:admin-made").exists()
    page = client_for(msp_admin).get(response["Location"]).content.decode()
    assert "s3cret-value-typed-once" not in page
    assert "the first one is queued" in page


def test_admin_onboarding_without_a_credential_says_so_and_creates_nothing(client_for, msp_admin):
    response = client_for(msp_admin).post(
        "/admin/tenants/tenant/add/",
        {"name": "No Cred", "slug": "no-cred", "azure_tenant_id": new_azure_tenant_id()},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "cannot be polled" in errors["azure_credential"][0]
    assert not Tenant.objects.filter(slug="no-cred").exists()


def test_admin_onboarding_shows_field_errors_not_a_500(client_for, msp_admin, tenant_a):
    response = client_for(msp_admin).post(
        "/admin/tenants/tenant/add/",
        {"name": "Dup", "slug": "tenant-a", "azure_tenant_id": "zzz"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "already exists" in errors["slug"][0]
    assert "not a GUID" in errors["azure_tenant_id"][0]


def test_admin_settings_form_rejects_invalid_json_with_field_errors(
    client_for, msp_admin, tenant_a
):
    before = tenant_a.settings_versions.count()
    response = client_for(msp_admin).post(
        "/admin/tenants/settings/add/",
        {
            "tenant": tenant_a.pk,
            "notification_settings": '{"enabled": true}',
            "polling_settings": '{"enabled": true, "interval_minutes": "often"}',
            "drift_thresholds": "{this is not json",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "interval_minutes" in errors["polling_settings"][0]
    assert "valid JSON" in errors["drift_thresholds"][0]
    assert "notification_settings" not in errors
    assert tenant_a.settings_versions.count() == before


def test_admin_settings_form_saves_a_new_version_and_resyncs_schedule(
    client_for, msp_admin, tenant_a
):
    client = client_for(msp_admin)
    form = client.get(f"/admin/tenants/settings/add/?tenant={tenant_a.pk}")
    assert "interval_minutes" in form.content.decode(), "prefilled from the current version"
    response = client.post(
        "/admin/tenants/settings/add/",
        {
            "tenant": tenant_a.pk,
            "notification_settings": '{"enabled": false}',
            "polling_settings": '{"enabled": true, "interval_minutes": 3}',
            "drift_thresholds": "{}",
        },
    )
    assert response.status_code == 302
    assert PeriodicTask.objects.get(name=f"poll-tenant:{tenant_a.slug}").interval.every == 3


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/fleet/",
        "/admin/tenants/tenant/",
        "/admin/tenants/settings/",
        "/admin/accounts/user/",
        "/admin/accounts/role/",
        "/admin/django_celery_beat/periodictask/",
    ],
)
def test_admin_pages_render_for_the_msp_admin(client_for, msp_admin, tenant_a, url):
    assert client_for(msp_admin).get(url).status_code == 200


def test_fleet_page_lists_every_customer_tenant_with_its_schedule(
    client_for, msp_admin, tenant_a, tenant_b
):
    body = client_for(msp_admin).get("/admin/fleet/").content.decode()
    assert "Tenant A" in body and "Tenant B" in body
    assert "/t/tenant-a/" in body


def test_fleet_page_shows_each_tenants_change_watch(client_for, msp_admin, tenant_a, tenant_b):
    from django.utils import timezone

    from tenants.models import ChangeWatch

    now = timezone.now()
    ChangeWatch.objects.create(tenant=tenant_a, last_run_at=now, last_success_at=now)
    ChangeWatch.objects.create(
        tenant=tenant_b, last_run_at=now, last_error="Resource Graph answered 403"
    )
    body = client_for(msp_admin).get("/admin/fleet/").content.decode()
    rows = {name: body.split(name, 1)[1].split("</tr>", 1)[0] for name in ("Tenant A", "Tenant B")}
    assert "change watch: ok" in rows["Tenant A"]
    assert 'title="Resource Graph answered 403">failing since its start' in rows["Tenant B"]

    ChangeWatch.objects.filter(tenant=tenant_b).delete()
    body = client_for(msp_admin).get("/admin/fleet/").content.decode()
    assert "change watch: not run yet" in body.split("Tenant B", 1)[1].split("</tr>", 1)[0]


def test_tenant_change_page_shows_domains_and_settings_history(client_for, msp_admin, tenant_a):
    body = (
        client_for(msp_admin).get(f"/admin/tenants/tenant/{tenant_a.pk}/change/").content.decode()
    )
    assert "tenant-a.tenants.localhost" in body
    assert "settings history" in body.lower()
    assert "Edit settings" in body


def test_customer_users_never_see_the_public_admin(client_for, customer_a):
    response = client_for(customer_a).get("/admin/fleet/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_azure_credential_secret_is_write_only_and_encrypted(client_for, msp_admin):
    from django.db import connection

    from tenants.models import AzureCredential

    client = client_for(msp_admin)
    response = client.post(
        "/admin/tenants/azurecredential/add/",
        {
            "name": "MSP app",
            "client_id": "AAAAAAAA-1111-2222-3333-444444444444",
            "client_secret": "s3cr3t-value",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    credential = AzureCredential.objects.get(name="MSP app")
    assert credential.client_id == "aaaaaaaa-1111-2222-3333-444444444444"
    assert credential.client_secret == "s3cr3t-value"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret FROM tenants_azurecredential WHERE id = %s", [credential.pk]
        )
        assert "s3cr3t" not in cursor.fetchone()[0]

    for url in (
        "/admin/tenants/azurecredential/",
        f"/admin/tenants/azurecredential/{credential.pk}/change/",
    ):
        assert "s3cr3t-value" not in client.get(url).content.decode()

    client.post(
        f"/admin/tenants/azurecredential/{credential.pk}/change/",
        {"name": "MSP app renamed", "client_id": credential.client_id, "client_secret": ""},
    )
    credential.refresh_from_db()
    assert credential.name == "MSP app renamed"
    assert credential.client_secret == "s3cr3t-value", "blank keeps the stored secret"


def test_azure_credential_needs_a_secret_or_certificate(client_for, msp_admin):
    response = client_for(msp_admin).post(
        "/admin/tenants/azurecredential/add/",
        {"name": "Empty", "client_id": "not-a-guid", "client_secret": ""},
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "not a GUID" in form.errors["client_id"][0]
    assert "client secret or a certificate" in str(form.non_field_errors())


def test_poll_now_action_queues_a_pass_per_selected_tenant_after_commit(
    client_for, msp_admin, tenant_a, tenant_b, monkeypatch, django_capture_on_commit_callbacks
):
    from driftdetector.celery import app

    sent = []
    monkeypatch.setattr(
        app, "send_task", lambda name, *args, **kw: sent.append((name, kw["headers"]))
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(msp_admin).post(
            "/admin/tenants/tenant/",
            {"action": "poll_now", "_selected_action": [tenant_a.pk, tenant_b.pk]},
        )
    assert response.status_code == 302
    assert sorted(sent, key=str) == [
        ("configurations.tasks.poll_tenant", {"_schema_name": "tenant_a"}),
        ("configurations.tasks.poll_tenant", {"_schema_name": "tenant_b"}),
    ]


def test_fleet_page_shows_open_drift_from_the_public_status_table(client_for, msp_admin, tenant_a):
    from tenants.models import TenantStatus

    # A worker test elsewhere in the session may have committed tenant A's row already.
    TenantStatus.objects.update_or_create(
        tenant=tenant_a,
        defaults={"open_findings": {"critical": 7, "high": 2, "medium": 0, "low": 1}},
    )
    body = client_for(msp_admin).get("/admin/fleet/").content.decode()
    assert ">7</strong> / 2 / 0 / 1" in body
    assert "/t/tenant-a/admin/drift/driftfinding/" in body
