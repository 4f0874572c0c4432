"""Sign-in with Microsoft: the whole browser flow against the simulator's identity platform.

Django test client -> /oauth/login/ -> 302 to the simulator's authorize endpoint (real
HTTPS with requests) -> 302 back with code and state -> callback -> social-auth fetches
the token, validates the id_token against the simulator's JWKS -> our pipeline.
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection
from django.test import Client
from social_django.models import UserSocialAuth

from accounts.models import User
from tests.accounts.helpers import audit_rows
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT_ID = "7f1c3b7e-0000-4000-8000-00000000e17a"
SECRET = "entra-test-secret"
CALLBACK = "http://testserver/oauth/complete/azuread-v2-tenant-oauth2/"
MSP_TID = "0d5e1f2a-0000-4000-8000-000000000a5f"


@pytest.fixture
def entra(settings, sim, sim_client):
    """Point the Entra backend at the simulator and register the app there."""
    settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_SECRET = SECRET
    settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_AUTHORITY_URL = f"{sim.base_url}/organizations"
    settings.SOCIAL_AUTH_VERIFY_SSL = str(sim.ca_path)
    settings.SOCIAL_AUTH_REDIRECT_IS_HTTPS = False
    settings.ENTRA_MSP_TENANT_ID = MSP_TID
    sim_client.register_app(
        CLIENT_ID, SECRET, [CALLBACK], optional_claims=["email", "given_name", "family_name"]
    )
    yield sim_client
    sim_client.set_signin_fault(None)


def sign_in_with_microsoft(client: Client, sim, email: str, *, tamper_state: bool = False):
    """Run the browser flow; returns the callback response."""
    begin = client.post("/oauth/login/azuread-v2-tenant-oauth2/")
    assert begin.status_code == 302, begin.content[:300]
    authorize_url = begin["Location"]
    assert authorize_url.startswith(f"{sim.base_url}/organizations/oauth2/v2.0/authorize")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["nonce"][0] and query["state"][0]
    answer = requests.get(
        authorize_url,
        params={"login_hint": email},
        verify=str(sim.ca_path),
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["Location"])
    params = parse_qs(back.query)
    assert "code" in params, params
    if tamper_state:
        params["state"] = ["forged-" + params["state"][0]]
    return client.get(back.path, {k: v[0] for k, v in params.items()})


def audit(schema: str) -> list[tuple[str, str, dict]]:
    return audit_rows(schema, "action", "status", "log_data", log_data__method="entra")


def test_a_customer_user_signs_in_and_the_user_row_is_filled(entra, sim, tenant_a):
    user = UserFactory(
        tenant=tenant_a, role_name="Customer Viewer", email="ana@contoso.example", first_name=""
    )
    added = entra.add_user(tenant_a.azure_tenant_id, "Ana@contoso.example", "Ana", "Silva")
    client = Client()
    response = sign_in_with_microsoft(client, sim, "ana@contoso.example")
    assert response.status_code == 302, response.content[:500]
    assert client.session.get("_auth_user_id") == str(user.pk)
    user = User.objects.get(pk=user.pk)
    assert user.microsoft_id == added["oid"]
    assert (user.first_name, user.last_name) == ("Ana", "Silva")
    assert user.email == "Ana@contoso.example"
    assert user.access_token and user.refresh_token and user.token_expiry is not None
    assert user.last_login is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_user WHERE id=%s", [user.pk]
        )
        stored_access, stored_refresh = cursor.fetchone()
    assert user.access_token not in stored_access and user.refresh_token not in stored_refresh
    (link,) = UserSocialAuth.objects.filter(user=user)
    assert link.uid and user.access_token not in str(link.extra_data), "no clear token kept"
    ((action, status, data),) = audit(tenant_a.schema_name)
    assert (action, status) == ("auth.login", "success")
    assert data["tid"] == tenant_a.azure_tenant_id.lower() and data["oid"] == added["oid"]
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert client.get("/t/tenant-b/").status_code == 404


def test_a_linked_user_is_found_by_object_id_even_after_an_email_change(entra, sim, tenant_a):
    added = entra.add_user(tenant_a.azure_tenant_id, "bo@contoso.example", "Bo", "Li")
    user = UserFactory(tenant=tenant_a, role_name="Customer Viewer", email="old@contoso.example")
    User.objects.filter(pk=user.pk).update(microsoft_id=added["oid"])
    client = Client()
    sign_in_with_microsoft(client, sim, "bo@contoso.example")
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_msp_staff_from_the_msp_tenant_land_in_the_public_tenant(entra, sim):
    staff = UserFactory(role_name="MSP Engineer", email="eng@msp.example")
    entra.add_user(MSP_TID, "eng@msp.example", "Eng", "Neer")
    client = Client()
    sign_in_with_microsoft(client, sim, "eng@msp.example")
    assert client.session.get("_auth_user_id") == str(staff.pk)
    assert ("auth.login", "success") in [(a, s) for a, s, _ in audit("public")]


def refused(response, reason_fragment: str) -> None:
    assert response.status_code == 403, response.content[:300]
    assert reason_fragment.encode() in response.content


def test_an_unknown_entra_tenant_is_refused(entra, sim):
    stranger_tid = str(uuid.uuid4())
    entra.add_user(stranger_tid, "mallory@evil.example", "Mal", "Lory")
    client = Client()
    response = sign_in_with_microsoft(client, sim, "mallory@evil.example")
    refused(response, "not a customer of this service")
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="mallory@evil.example").exists()
    assert ("auth.login_failed", "failure") in [(a, s) for a, s, _ in audit("public")]


def test_an_uninvited_user_of_a_known_tenant_is_refused_and_not_created(entra, sim, tenant_a):
    entra.add_user(tenant_a.azure_tenant_id, "newbie@contoso.example", "New", "Bie")
    before = User.objects.count()
    client = Client()
    refused(sign_in_with_microsoft(client, sim, "newbie@contoso.example"), "not been invited")
    assert User.objects.count() == before and "_auth_user_id" not in client.session


def test_a_user_invited_in_another_tenant_is_not_let_in_here(entra, sim, tenant_a, tenant_b):
    UserFactory(tenant=tenant_b, role_name="Customer Viewer", email="dual@contoso.example")
    entra.add_user(tenant_a.azure_tenant_id, "dual@contoso.example", "Du", "Al")
    refused(sign_in_with_microsoft(Client(), sim, "dual@contoso.example"), "not been invited")


def test_a_forged_state_is_refused(entra, sim, tenant_a):
    UserFactory(tenant=tenant_a, role_name="Customer Viewer", email="st@contoso.example")
    entra.add_user(tenant_a.azure_tenant_id, "st@contoso.example", "S", "T")
    client = Client()
    response = sign_in_with_microsoft(client, sim, "st@contoso.example", tamper_state=True)
    refused(response, "could not be verified")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("wrong_audience", "could not be verified"),
        ("expired", "could not be verified"),
        ("bad_signature", "could not be verified"),
        ("wrong_issuer", "could not be verified"),
        ("wrong_nonce", "nonce does not match"),
    ],
)
def test_a_spoiled_id_token_is_refused(fault, reason, entra, sim, tenant_a):
    UserFactory(tenant=tenant_a, role_name="Customer Viewer", email="v@contoso.example")
    entra.add_user(tenant_a.azure_tenant_id, "v@contoso.example", "V", "W")
    entra.set_signin_fault(fault)
    client = Client()
    refused(sign_in_with_microsoft(client, sim, "v@contoso.example"), reason)
    assert "_auth_user_id" not in client.session
    failures = [d for a, s, d in audit(tenant_a.schema_name) + audit("public") if s == "failure"]
    assert failures, "every refused sign-in is audited"


def test_an_inactive_user_is_refused(entra, sim, tenant_a):
    UserFactory(
        tenant=tenant_a, role_name="Customer Viewer", email="gone@contoso.example", is_active=False
    )
    entra.add_user(tenant_a.azure_tenant_id, "gone@contoso.example", "G", "One")
    refused(sign_in_with_microsoft(Client(), sim, "gone@contoso.example"), "disabled")


def test_the_login_page_offers_sign_in_with_microsoft():
    page = Client().get("/accounts/login/?next=/t/tenant-a/")
    assert b"Sign in with Microsoft" in page.content
    assert b"/oauth/login/azuread-v2-tenant-oauth2/?next=" in page.content


def begin_state(client: Client) -> str:
    begin = client.post("/oauth/login/azuread-v2-tenant-oauth2/")
    return parse_qs(urlsplit(begin["Location"]).query)["state"][0]


def test_a_sign_in_cancelled_at_microsoft_says_so(entra):
    client = Client()
    state = begin_state(client)
    response = client.get(
        "/oauth/complete/azuread-v2-tenant-oauth2/",
        {"error": "access_denied", "error_description": "AADSTS65004: declined", "state": state},
    )
    refused(response, "was cancelled")
    assert ("auth.login_failed", "failure") in [(a, s) for a, s, _ in audit("public")]


def test_microsoft_unreachable_at_the_callback_is_a_503_that_points_to_local_sign_in(
    entra, sim, settings, tenant_a
):
    UserFactory(tenant=tenant_a, role_name="Customer Viewer", email="down@contoso.example")
    entra.add_user(tenant_a.azure_tenant_id, "down@contoso.example", "D", "Own")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    client = Client()
    begin = client.post("/oauth/login/azuread-v2-tenant-oauth2/")
    answer = requests.get(
        begin["Location"],
        params={"login_hint": "down@contoso.example"},
        verify=str(sim.ca_path),
        allow_redirects=False,
        timeout=10,
    )
    back = urlsplit(answer.headers["Location"])
    settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_AUTHORITY_URL = (
        f"https://127.0.0.1:{dead_port}/organizations"
    )
    response = client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})
    assert response.status_code == 503
    assert b"local account" in response.content
    assert "_auth_user_id" not in client.session


def test_the_entra_tenant_unknown_to_microsoft_gets_a_clear_page(entra, sim, settings, tenant_a):
    UserFactory(tenant=tenant_a, role_name="Customer Viewer", email="lost@contoso.example")
    entra.add_user(tenant_a.azure_tenant_id, "lost@contoso.example", "L", "Ost")
    client = Client()
    begin = client.post("/oauth/login/azuread-v2-tenant-oauth2/")
    answer = requests.get(
        begin["Location"],
        params={"login_hint": "lost@contoso.example"},
        verify=str(sim.ca_path),
        allow_redirects=False,
        timeout=10,
    )
    back = urlsplit(answer.headers["Location"])
    # The sign-in authority now names a tenant Microsoft does not know (a typo, a deleted
    # directory): its token endpoint answers invalid_tenant / AADSTS90002.
    settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_AUTHORITY_URL = f"{sim.base_url}/{uuid.uuid4()}"
    response = client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})
    assert response.status_code == 400, response.content[:300]
    assert (
        b"AADSTS90002" in response.content and b"does not know the Entra tenant" in response.content
    )
    assert "_auth_user_id" not in client.session
    assert ("auth.login_failed", "failure") in [(a, s) for a, s, _ in audit("public")]


@pytest.fixture
def bare_entra(entra):
    """The app registration as Entra creates it: no optional claims in its id tokens."""
    entra.register_app(CLIENT_ID, SECRET, [CALLBACK])
    return entra


def test_without_optional_claims_the_user_is_linked_by_upn_and_keeps_name_and_email(
    bare_entra, sim, tenant_a
):
    user = UserFactory(
        tenant=tenant_a,
        role_name="Customer Viewer",
        username="kim@contoso.onmicrosoft.example",
        email="kim.lee@contoso.example",
        first_name="Kim",
    )
    added = bare_entra.add_user(
        tenant_a.azure_tenant_id,
        "kim@contoso.onmicrosoft.example",
        "Kimberly",
        "Lee",
        mail="kim.lee@contoso.example",
    )
    client = Client()
    sign_in_with_microsoft(client, sim, "kim@contoso.onmicrosoft.example")
    assert client.session.get("_auth_user_id") == str(user.pk)
    user = User.objects.get(pk=user.pk)
    assert user.microsoft_id == added["oid"]
    assert (user.first_name, user.email) == ("Kim", "kim.lee@contoso.example"), "no claims sent"


def test_a_user_whose_mail_differs_from_the_upn_is_linked_by_upn_and_gets_the_mail(
    entra, sim, tenant_a
):
    user = UserFactory(
        tenant=tenant_a, role_name="Customer Viewer", email="j.doe@corp.contoso.example"
    )
    entra.add_user(
        tenant_a.azure_tenant_id,
        "j.doe@corp.contoso.example",
        "J",
        "Doe",
        mail="jane@contoso.example",
    )
    client = Client()
    sign_in_with_microsoft(client, sim, "j.doe@corp.contoso.example")
    assert client.session.get("_auth_user_id") == str(user.pk)
    assert User.objects.get(pk=user.pk).email == "jane@contoso.example"


def test_an_email_claim_never_links_an_account(entra, sim, tenant_a):
    boss = UserFactory(tenant=tenant_a, role_name="Customer Viewer", email="boss@contoso.example")
    # Another account of the same directory whose (user-editable) mail is the boss's address.
    entra.add_user(
        tenant_a.azure_tenant_id,
        "intern@contoso.example",
        "In",
        "Tern",
        mail="boss@contoso.example",
    )
    client = Client()
    refused(sign_in_with_microsoft(client, sim, "intern@contoso.example"), "not been invited")
    assert "_auth_user_id" not in client.session
    assert User.objects.get(pk=boss.pk).microsoft_id in (None, "")
