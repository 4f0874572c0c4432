"""API tokens: shown once, stored hashed, Bearer/Token auth, read-only, expiry, revocation,
isolation between users and tenants, and the admin."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import create_api_token
from tests.accounts.helpers import audit_rows

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens/"


def bearer(clear: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"{scheme} {clear}"}


def test_a_token_is_shown_once_and_only_its_hash_is_stored(msp_admin, client_for):
    client = client_for(msp_admin)
    created = client.post(TOKENS, {"name": "ci pipeline"}, content_type="application/json")
    assert created.status_code == 201
    clear = created.json()["token"]
    assert clear.startswith("ddt_") and len(clear) > 40
    listed = client.get(TOKENS).content.decode()
    assert "ci pipeline" in listed and clear not in listed
    assert clear.split("_", 2)[2][:10] not in listed, "no part of the secret is listed"
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM accounts_apitoken t")
        rows = " ".join(row[0] for row in cursor.fetchall())
    out = io.StringIO()
    call_command("dumpdata", "accounts", stdout=out)
    assert clear not in rows and clear not in out.getvalue()
    assert clear.split("_", 2)[2] not in rows + out.getvalue()


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer"])
def test_bearer_and_token_schemes_authenticate_on_tenant_and_public_apis(
    scheme, msp_admin, customer_a, tenant_a
):
    _, msp_clear = create_api_token(user=msp_admin, name="msp")
    _, customer_clear = create_api_token(user=customer_a, name="cust")
    client = Client()
    assert client.get("/api/v1/tenants/", **bearer(msp_clear, scheme)).status_code == 200
    response = client.get(
        f"/t/{tenant_a.slug}/api/v1/drift/findings/", **bearer(customer_clear, scheme)
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="cust")
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda clear: clear[:-2] + "xx",  # right prefix, wrong secret
        lambda clear: "ddt_000000000000_" + clear.split("_", 2)[2],  # unknown prefix
        lambda clear: "garbage",
        lambda clear: "ddt__",
    ],
)
def test_wrong_tokens_get_401(mangle, msp_admin):
    _, clear = create_api_token(user=msp_admin, name="x")
    response = Client().get("/api/v1/tenants/", **bearer(mangle(clear)))
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_revoked_and_expired_tokens_get_401(msp_admin, client_for):
    token, clear = create_api_token(user=msp_admin, name="soon")
    assert Client().get("/api/v1/tenants/", **bearer(clear)).status_code == 200
    assert client_for(msp_admin).delete(f"{TOKENS}{token.pk}/").status_code == 204
    assert Client().get("/api/v1/tenants/", **bearer(clear)).status_code == 401
    expired, expired_clear = create_api_token(
        user=msp_admin, name="old", expires_at=timezone.now() + timedelta(seconds=60)
    )
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get("/api/v1/tenants/", **bearer(expired_clear)).status_code == 401


def test_an_inactive_users_token_is_refused(customer_a, tenant_a):
    """401 on the MSP API; on a tenant's API the same 404 as for a tenant that does not
    exist (a 401 there would confirm the tenant)."""
    _, clear = create_api_token(user=customer_a, name="x")
    customer_a.is_active = False
    customer_a.save()
    response = Client().get(f"/t/{tenant_a.slug}/api/v1/drift/findings/", **bearer(clear))
    unknown = Client().get("/t/no-such-tenant/api/v1/drift/findings/", **bearer(clear))
    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()
    assert Client().get("/api/v1/tokens/", **bearer(clear)).status_code == 401


def test_a_read_only_token_reads_but_never_writes(msp_admin, tenant_a):
    _, clear = create_api_token(user=msp_admin, name="ro", read_only=True)
    client = Client()
    assert client.get("/api/v1/tenants/", **bearer(clear)).status_code == 200
    body = {
        "name": "Evil",
        "slug": "evil",
        "azure_tenant_id": "11111111-2222-3333-4444-555555555555",
    }
    response = client.post(
        "/api/v1/tenants/", body, content_type="application/json", **bearer(clear)
    )
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    response = client.patch(
        f"/t/{tenant_a.slug}/api/v1/settings/",
        {"polling_settings": {"interval_minutes": 5}},
        content_type="application/json",
        **bearer(clear),
    )
    assert response.status_code == 403
    response = client.post(
        TOKENS, {"name": "escalate"}, content_type="application/json", **bearer(clear)
    )
    assert response.status_code == 403, "a read-only token cannot mint a writable one"


def test_a_customer_token_gets_404_in_another_tenant(customer_a, tenant_b):
    _, clear = create_api_token(user=customer_a, name="x")
    response = Client().get(f"/t/{tenant_b.slug}/api/v1/drift/findings/", **bearer(clear))
    assert response.status_code == 404
    assert Client().get("/api/v1/tenants/", **bearer(clear)).status_code == 403


def test_users_see_and_revoke_only_their_own_tokens(msp_admin, msp_engineer, client_for):
    theirs, _ = create_api_token(user=msp_admin, name="admin's")
    client = client_for(msp_engineer)
    assert "admin's" not in client.get(TOKENS).content.decode()
    assert client.delete(f"{TOKENS}{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_token_creation_validates_name_and_expiry(msp_admin, client_for):
    client = client_for(msp_admin)
    response = client.post(TOKENS, {"name": ""}, content_type="application/json")
    assert response.status_code == 400 and "name" in response.json()["errors"]
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client.post(
        TOKENS, {"name": "x", "expires_at": past}, content_type="application/json"
    )
    assert response.status_code == 400 and "expires_at" in response.json()["errors"]


def test_the_admin_shows_the_token_once_and_lists_no_secret(msp_admin, client_for):
    client = client_for(msp_admin)
    response = client.post(
        "/admin/accounts/apitoken/add/",
        {"user": msp_admin.pk, "name": "from admin", "read_only": "on"},
        follow=True,
    )
    page = response.content.decode()
    token = ApiToken.objects.get(name="from admin")
    assert token.read_only and token.user == msp_admin
    start = page.index("ddt_")
    clear = page[start : start + 80].split("<")[0].split()[0]
    assert Client().get("/api/v1/tenants/", **bearer(clear)).status_code == 200
    listing = client.get("/admin/accounts/apitoken/").content.decode()
    assert token.prefix in listing and clear not in listing and token.token_hash not in listing


def token_events(schema: str) -> list[tuple[str, str, dict]]:
    return audit_rows(schema, "action", "actor", "log_data", log_data__method="api_token")


def test_creation_use_and_revocation_are_audited_without_the_secret(
    customer_a, tenant_a, client_for
):
    client = client_for(customer_a)
    created = client.post(TOKENS, {"name": "export job"}, content_type="application/json").json()
    findings = f"/t/{tenant_a.slug}/api/v1/drift/findings/"
    for _ in range(3):
        assert Client().get(findings, **bearer(created["token"])).status_code == 200
    assert client.delete(f"{TOKENS}{created['id']}/").status_code == 204
    events = token_events(tenant_a.schema_name)
    assert [action for action, _, _ in events] == [
        "auth.api_token_created",
        "auth.api_token_used",  # three calls in a minute: one event
        "auth.api_token_revoked",
    ]
    assert {actor for _, actor, _ in events} == {customer_a.username}
    assert all(data["token_prefix"] == created["prefix"] for _, _, data in events)
    assert created["token"].split("_", 2)[2] not in str(events)
    assert token_events("public") == [], "a customer's events stay in its tenant"
