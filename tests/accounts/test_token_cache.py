"""Verified API tokens served from the cache: no query per call, and every change that
should lock a token out (revoked, deleted, user deactivated, role changed, expired) acts
on the very next call."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import tokencache
from accounts.models import ApiToken, Role
from accounts.services import (
    _token_hash,
    authenticate_api_token,
    create_api_token,
    revoke_api_token,
    set_user_active,
)

pytestmark = pytest.mark.django_db


def api(client: Client, tenant) -> int:
    """A tenant API call (a caller refused there gets 404, as for an unknown tenant)."""
    return client.get(f"/t/{tenant.slug}/api/v1/configurations/").status_code


def msp_api(client: Client) -> int:
    """An MSP API call (a refused token is a 401 there)."""
    return client.get("/api/v1/tenants/").status_code


@pytest.fixture
def cached_token(msp_engineer, tenant_a):
    """A token of an MSP engineer that has made one call (so it is cached)."""
    token, clear = create_api_token(user=msp_engineer, name="cache")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert api(client, tenant_a) == 200
    assert tokencache.cached(_token_hash(clear)) is not None
    return token, clear, client


def test_a_cached_token_authenticates_without_a_query(cached_token):
    _, clear, _ = cached_token
    with CaptureQueriesContext(connection) as queries:
        token = authenticate_api_token(clear)
    assert token is not None and token.user.username
    assert len(queries.captured_queries) == 0


def test_the_cache_holds_no_password_or_entra_token(cached_token, msp_engineer, tenant_a):
    msp_engineer.refresh_token = "entra-refresh-secret"
    msp_engineer.save()  # drops the entry; the next call caches the saved user
    _, clear, client = cached_token
    assert api(client, tenant_a) == 200
    raw = cache.get(f"{tokencache.KEY_PREFIX}{_token_hash(clear)}")
    blob = pickle.dumps(raw)
    assert msp_engineer.password.encode() not in blob
    assert b"entra-refresh-secret" not in blob
    assert raw.user.get_deferred_fields() >= {"password", "access_token", "refresh_token"}


def test_a_revoked_token_is_refused_on_the_next_call(cached_token, tenant_a):
    token, _, client = cached_token
    assert msp_api(client) == 200
    revoke_api_token(token=token)
    assert msp_api(client) == 401
    assert api(client, tenant_a) == 404


def test_a_deleted_token_is_refused_on_the_next_call(cached_token, tenant_a):
    token, _, client = cached_token
    assert msp_api(client) == 200
    ApiToken.objects.get(pk=token.pk).delete()
    assert msp_api(client) == 401


def test_a_deactivated_user_is_refused_on_the_next_call(cached_token, tenant_a, msp_engineer):
    _, _, client = cached_token
    assert msp_api(client) == 200
    set_user_active(user=msp_engineer, active=False)
    assert msp_api(client) == 401


def test_a_role_change_applies_on_the_next_call(cached_token, tenant_a):
    token, _, client = cached_token
    role = token.user.role
    role.permissions = [p for p in role.permissions if p != "tenants.enter_any_tenant"]
    role.save()
    assert api(client, tenant_a) == 404


def test_a_user_moved_to_another_role_is_judged_by_it(cached_token, tenant_a, msp_engineer):
    _, _, client = cached_token
    msp_engineer.role = Role.objects.create(name="No access", permissions=[])
    msp_engineer.save()
    assert api(client, tenant_a) == 404


def test_expiry_is_checked_on_every_call(msp_engineer, tenant_a, monkeypatch):
    _, clear = create_api_token(
        user=msp_engineer, name="short", expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert authenticate_api_token(clear) is not None
    later = timezone.now() + timedelta(minutes=6)
    monkeypatch.setattr("accounts.services.timezone.now", lambda: later)
    assert authenticate_api_token(clear) is None


def test_a_wrong_secret_with_a_known_prefix_is_never_cached(msp_engineer):
    _, clear = create_api_token(user=msp_engineer, name="guess")
    wrong = clear[:-4] + ("aaaa" if not clear.endswith("aaaa") else "bbbb")
    assert authenticate_api_token(wrong) is None
    assert tokencache.cached(_token_hash(wrong)) is None
    assert authenticate_api_token(clear) is not None
