"""What an operator does in the admin, done through the API: finding actions, baselines,
onboarding with a credential, deactivating, polling now, credentials, users, the fleet."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from drift.models import Baseline, DriftException, DriftFinding
from tenants.models import AzureCredential, Tenant

pytestmark = pytest.mark.django_db


def finding_url(tenant, pk, action=""):
    return f"/t/{tenant.slug}/api/v1/drift/findings/{pk}/" + (f"{action}/" if action else "")


def test_acknowledge_then_reopen(token_client, msp_engineer, tenant_a, api_objects):
    client = token_client(msp_engineer)
    done = client.post(finding_url(tenant_a, api_objects["finding"], "acknowledge"))
    assert done.status_code == 200
    assert done.json()["finding"]["status"] == "acknowledged"
    assert done.json()["finding"]["status_changed_by"] == msp_engineer.username
    again = client.post(finding_url(tenant_a, api_objects["finding"], "reopen")).json()
    assert again["changed"] == 1 and again["finding"]["status"] == "open"


def test_a_customer_viewer_cannot_act_on_findings(token_client, customer_a, tenant_a, api_objects):
    response = token_client(customer_a).post(
        finding_url(tenant_a, api_objects["finding"], "acknowledge")
    )
    assert response.status_code == 403
    connection.set_tenant(tenant_a)
    assert DriftFinding.objects.get(pk=api_objects["finding"]).status == "open"
    connection.set_schema_to_public()


def test_accept_into_the_active_baseline(token_client, msp_engineer, tenant_a, api_objects):
    body = (
        token_client(msp_engineer)
        .post(finding_url(tenant_a, api_objects["finding"], "accept"))
        .json()
    )
    assert body["finding"]["status"] == "accepted"
    connection.set_tenant(tenant_a)
    entry = Baseline.objects.get(pk=api_objects["baseline"]).entries.get()
    assert entry.config["properties"]["enablePurgeProtection"] is True
    connection.set_schema_to_public()


def test_exception_needs_a_reason_and_a_future_expiry(
    token_client, msp_engineer, tenant_a, api_objects
):
    client = token_client(msp_engineer)
    url = finding_url(tenant_a, api_objects["finding"], "exception")
    past = (timezone.now() - timedelta(days=1)).isoformat()
    refused = client.post(
        url, {"reason": "ok", "expires_at": past}, content_type="application/json"
    )
    assert refused.status_code == 400 and "expires_at" in refused.json()["errors"]
    future = (timezone.now() + timedelta(days=7)).isoformat()
    done = client.post(
        url, {"reason": "change window", "expires_at": future}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["finding"]["exception"]
    listed = client.get(f"/t/{tenant_a.slug}/api/v1/drift/exceptions/").json()["results"]
    assert "change window" in {row["reason"] for row in listed}
    connection.set_tenant(tenant_a)
    assert DriftException.objects.filter(reason="change window").count() == 1
    connection.set_schema_to_public()


def test_ignore_path_adds_a_rule_and_resolves(token_client, msp_engineer, tenant_a, api_objects):
    client = token_client(msp_engineer)
    before = tenant_a.settings_versions.count()
    done = client.post(
        finding_url(tenant_a, api_objects["finding"], "ignore-path"),
        {"scope": "type"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["finding"]["status"] == "resolved"
    assert tenant_a.settings_versions.count() == before + 1
    rules = client.get(f"/t/{tenant_a.slug}/api/v1/settings/").json()["drift_thresholds"]["rules"]
    assert rules[0]["path"] == "^properties\\.enablePurgeProtection$"


@pytest.mark.parametrize(
    "scope,extra,prefix",
    [
        ("tenant", {}, "tenant"),
        (
            "subscription",
            {"subscription_id": "AAAAAAAA-0000-0000-0000-000000000000"},
            "/subscriptions/aaaaaaaa-0000-0000-0000-000000000000/",
        ),
    ],
)
def test_create_a_baseline_of_a_scope(
    token_client, msp_engineer, tenant_a, api_objects, scope, extra, prefix
):
    response = token_client(msp_engineer).post(
        f"/t/{tenant_a.slug}/api/v1/drift/baselines/",
        {"name": "q3", "scope_kind": scope, **extra},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["active"] and body["scope"] == prefix
    assert body["entries"] == (1 if scope == "tenant" else 0)


def test_a_resource_group_baseline_needs_its_subscription(token_client, msp_engineer, tenant_a):
    response = token_client(msp_engineer).post(
        f"/t/{tenant_a.slug}/api/v1/drift/baselines/",
        {"name": "rg", "scope_kind": "resource_group", "resource_group": "rg-api"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "subscription_id" in response.json()["errors"]


def test_report_lists_its_findings(token_client, customer_a, tenant_a, api_objects):
    rows = (
        token_client(customer_a)
        .get(f"/t/{tenant_a.slug}/api/v1/drift/reports/{api_objects['report']}/findings/")
        .json()
    )
    assert [row["id"] for row in rows] == [api_objects["finding"]]


def test_onboard_with_a_new_credential_in_one_call(token_client, msp_admin):
    azure_id = str(uuid.uuid4())
    response = token_client(msp_admin).post(
        "/api/v1/tenants/",
        {
            "name": "Cred Co",
            "slug": "cred-co",
            "azure_tenant_id": azure_id,
            "new_credential": {
                "name": "cred-co-app",
                "client_id": str(uuid.uuid4()),
                "client_secret": "s3cret-value-xyz",
            },
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert "s3cret-value-xyz" not in response.content.decode()
    tenant = Tenant.objects.get(slug="cred-co")
    assert tenant.azure_credential.name == "cred-co-app"
    assert tenant.azure_credential.client_secret == "s3cret-value-xyz"


def test_onboarding_with_a_bad_credential_creates_nothing(token_client, msp_admin):
    response = token_client(msp_admin).post(
        "/api/v1/tenants/",
        {
            "name": "Bad Cred",
            "slug": "bad-cred",
            "azure_tenant_id": str(uuid.uuid4()),
            "new_credential": {
                "name": "bad-cred-app",
                "client_id": "not-a-guid",
                "client_secret": "x",
            },
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not Tenant.objects.filter(slug="bad-cred").exists()
    assert not AzureCredential.objects.filter(name="bad-cred-app").exists()


def test_credential_secrets_are_write_only(token_client, msp_admin):
    client = token_client(msp_admin)
    created = client.post(
        "/api/v1/azure-credentials/",
        {"name": "msp-app", "client_id": str(uuid.uuid4()), "client_secret": "never-shown-123"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    listed = client.get("/api/v1/azure-credentials/")
    for body in (created.content.decode(), listed.content.decode()):
        assert "never-shown-123" not in body
    assert created.json()["has_secret"] is True


def test_a_credential_test_connection_runs_the_preflight(
    token_client, msp_admin, azure_tenant, tenant_a
):
    azure_tenant(tenant_a, resources=5)
    credential = Tenant.objects.get(pk=tenant_a.pk).azure_credential
    response = token_client(msp_admin).post(
        f"/api/v1/azure-credentials/{credential.pk}/test-connection/",
        {"azure_tenant_id": tenant_a.azure_tenant_id},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["exit_code"] in (0, 1) and body["checks"], body
    on_tenant = token_client(msp_admin).post(f"/api/v1/tenants/{tenant_a.pk}/test-connection/")
    assert on_tenant.status_code == 200 and on_tenant.json()["checks"]


def test_deactivate_and_poll_now(token_client, msp_admin, msp_engineer, tenant_a):
    assert (
        token_client(msp_engineer).post(f"/api/v1/tenants/{tenant_a.pk}/deactivate/").status_code
        == 403
    )
    client = token_client(msp_admin)
    assert client.post(f"/api/v1/tenants/{tenant_a.pk}/poll-now/").status_code == 202
    body = client.post(f"/api/v1/tenants/{tenant_a.pk}/deactivate/").json()
    assert body["is_active"] is False
    assert client.post(f"/api/v1/tenants/{tenant_a.pk}/poll-now/").status_code == 400


def test_invite_a_user_with_a_role_of_the_right_scope(token_client, msp_admin, tenant_a):
    client = token_client(msp_admin)
    refused = client.post(
        "/api/v1/users/",
        {"username": "cust1", "email": "c@x.com", "tenant": tenant_a.slug, "role": "MSP Admin"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "role" in refused.json()["errors"]
    done = client.post(
        "/api/v1/users/",
        {
            "username": "cust1",
            "email": "c@x.com",
            "tenant": tenant_a.slug,
            "role": "Customer Viewer",
        },
        content_type="application/json",
    )
    assert done.status_code == 201 and done.json()["tenant"] == tenant_a.slug
    user = User.objects.get(username="cust1")
    assert not user.has_usable_password() and not user.is_staff


def test_fleet_findings_carry_their_tenant_and_honour_access(
    token_client, msp_admin, customer_a, tenant_a, api_objects
):
    rows = token_client(msp_admin).get("/api/v1/findings/?severity=high").json()
    mine = [row for row in rows if row["id"] == api_objects["finding"]]
    assert mine and mine[0]["tenant"] == {"id": tenant_a.pk, "slug": tenant_a.slug}
    assert token_client(customer_a).get("/api/v1/findings/").status_code == 403
    assert token_client(msp_admin).get("/api/v1/findings/?limit=0").status_code == 400


def test_fleet_summary_lists_each_tenant(token_client, msp_admin, tenant_a):
    rows = token_client(msp_admin).get("/api/v1/fleet/").json()
    assert tenant_a.slug in {row["tenant"]["slug"] for row in rows}
