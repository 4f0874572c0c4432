"""Local accounts through allauth: sign-in, audit, brute-force throttling, MFA, admin login,
email verification and the closed sign-up."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts import crypto
from accounts.services import mark_email_verified
from auditlog.models import SigningLog
from tests.accounts.helpers import audit_rows
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth keeps its counters in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def verified_user(db):
    user = UserFactory(role_name="MSP Engineer")
    mark_email_verified(user)
    return user


def events(schema: str, actor: str) -> list[tuple[str, str]]:
    return audit_rows(schema, "action", "status", source="platform", actor=actor)


def sign_in(client: Client, username: str, password: str, **extra):
    return client.post(
        LOGIN, {"login": username, "password": password}, REMOTE_ADDR="198.51.100.7", **extra
    )


def test_a_verified_user_signs_in_and_out_and_each_step_is_audited(verified_user):
    client = Client()
    page = client.get(LOGIN)
    assert page.status_code == 200 and b'name="login"' in page.content
    response = sign_in(client, verified_user.username, PASSWORD)
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(verified_user.pk)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session
    assert events("public", verified_user.username) == [
        ("auth.login", "success"),
        ("auth.logout", "success"),
    ]
    with schema_context("public"):
        row = SigningLog.objects.get(actor=verified_user.username, action="auth.login")
    assert row.client_ip == "198.51.100.7" and row.log_data["method"] == "password"


def test_a_wrong_password_is_refused_and_audited_without_the_password(verified_user):
    client = Client()
    response = sign_in(client, verified_user.username, "not-the-password")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert events("public", verified_user.username) == [("auth.login_failed", "failure")]
    with schema_context("public"):
        dump = str(list(SigningLog.objects.values()))
    assert "not-the-password" not in dump


def test_a_customer_users_events_land_in_its_own_tenant_schema(tenant_a):
    user = UserFactory(tenant=tenant_a, role_name="Customer Viewer")
    mark_email_verified(user)
    sign_in(Client(), user.username, "wrong")
    assert events(tenant_a.schema_name, user.username) == [("auth.login_failed", "failure")]
    assert events("public", user.username) == []


def test_brute_force_is_throttled_even_for_the_right_password(verified_user):
    client = Client()
    for _ in range(5):
        sign_in(client, verified_user.username, "guess")
    response = sign_in(client, verified_user.username, PASSWORD)
    assert "_auth_user_id" not in client.session, "the sixth attempt within 5 minutes is refused"
    assert b"Too many failed login attempts" in response.content
    assert ("auth.login_throttled", "failure") in events("public", verified_user.username)
    other = UserFactory()
    mark_email_verified(other)
    sign_in(client, other.username, PASSWORD)
    assert client.session.get("_auth_user_id") == str(other.pk), "the limit is per account"


def test_mfa_asks_for_a_totp_code_and_audits_failure_and_success(verified_user):
    secret = generate_totp_secret()
    TOTP.activate(verified_user, secret)
    client = Client()
    response = sign_in(client, verified_user.username, PASSWORD)
    assert response.status_code == 302 and "/2fa/authenticate" in response["Location"]
    assert "_auth_user_id" not in client.session, "the password alone does not sign in"
    client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert "_auth_user_id" not in client.session
    codes = [format_hotp_value(hotp_value(secret, c)) for c in yield_hotp_counters_from_time()]
    code = codes[len(codes) // 2]
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert client.session.get("_auth_user_id") == str(verified_user.pk)
    actions = [action for action, _ in events("public", verified_user.username)]
    assert "auth.mfa_failed" in actions and "auth.mfa_used" in actions
    assert actions[-1] == "auth.login"


def test_the_session_lives_in_redis_behind_a_secure_cookie_and_https_is_enforced(verified_user):
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    client = Client()
    response = sign_in(client, verified_user.username, PASSWORD)
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"]
    sessions = caches["sessions"]
    assert isinstance(sessions, RedisCache)
    stored = sessions.get(KEY_PREFIX + cookie.value)
    assert stored["_auth_user_id"] == str(verified_user.pk)
    assert response.cookies["csrftoken"]["secure"]
    hsts = client.get("/healthz", secure=True)["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_the_totp_secret_is_encrypted_at_rest(verified_user):
    secret = generate_totp_secret()
    authenticator = TOTP.activate(verified_user, secret).instance
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM mfa_authenticator WHERE id=%s", [authenticator.pk])
        (stored,) = cursor.fetchone()
    assert secret not in stored
    authenticator.refresh_from_db()
    assert crypto.decrypt(authenticator.data["secret"]) == secret


def test_an_unverified_email_is_sent_a_verification_mail_instead_of_a_session(mailoutbox):
    user = UserFactory()
    client = Client()
    sign_in(client, user.username, PASSWORD)
    assert "_auth_user_id" not in client.session
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [user.email]
    assert not EmailAddress.objects.get(user=user).verified


def test_password_reset_mails_a_link(verified_user, mailoutbox):
    response = Client().post("/accounts/password/reset/", {"email": verified_user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and "/accounts/password/reset/key/" in mailoutbox[0].body


def test_nobody_can_sign_up():
    response = Client().post(
        "/accounts/signup/",
        {
            "username": "eve",
            "email": "eve@example.com",
            "password1": "x" * 12,
            "password2": "x" * 12,
        },
    )
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
    from accounts.models import User

    assert not User.objects.filter(username="eve").exists()


def test_the_admin_login_form_cannot_be_used_to_skip_allauth(verified_user):
    client = Client()
    redirect = client.get("/admin/login/?next=/admin/fleet/")
    assert redirect.status_code == 302 and redirect["Location"].startswith(LOGIN)
    assert "next=/admin/fleet/" in redirect["Location"]
    client.post("/admin/login/", {"username": verified_user.username, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    tenant_admin = client.get("/t/tenant-a/admin/")
    assert tenant_admin.status_code == 302 and LOGIN in tenant_admin["Location"]


def test_a_signed_in_customer_gets_403_from_the_admin_not_a_redirect_loop(customer_a, client_for):
    client = client_for(customer_a)
    response = client.get("/admin/fleet/", follow=True)
    assert response.status_code == 403
    assert b"may not use this administration site" in response.content
