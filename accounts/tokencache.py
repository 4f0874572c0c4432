"""A verified API token, kept briefly in the shared (Redis) cache keyed by its hash.

Looking a token up cost a query joining token, user, tenant and role on every API call.
A token that verified is cached for ``API_TOKEN_CACHE_SECONDS`` under the SHA-256 of the
clear token (knowing the key means knowing the token), with the user's password and Entra
tokens deferred, so no secret lands in Redis. Every write that could change the answer
(the token revoked or deleted; its user, the user's role or tenant saved or deleted)
drops the entries it touches at once and again after the transaction commits (a request
in between could cache the old row), so revocation and deactivation act on the next call
in every worker. Expiry is checked on every call against the cached ``expires_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts.models import ApiToken, Role, User

KEY_PREFIX = "api-token:"
# Loaded with the token; deferred so that no secret is written to the cache.
SECRET_USER_FIELDS = ("user__password", "user__access_token", "user__refresh_token")


def _key(token_hash: str) -> str:
    return f"{KEY_PREFIX}{token_hash}"


def token_by_prefix(prefix: str) -> ApiToken | None:
    """The token with this lookup prefix, its user, the user's tenant and role (no secrets)."""
    return (
        ApiToken.objects.select_related("user", "user__tenant", "user__role")
        .defer(*SECRET_USER_FIELDS)
        .filter(prefix=prefix)
        .first()
    )


def cached(token_hash: str) -> ApiToken | None:
    """The verified token cached under ``token_hash``, else None."""
    return cache.get(_key(token_hash))


def remember(token: ApiToken) -> None:
    """Cache a token that just verified (a live one: revoked tokens are never cached)."""
    if token.revoked_at is None and settings.API_TOKEN_CACHE_SECONDS > 0:
        cache.set(_key(token.token_hash), token, settings.API_TOKEN_CACHE_SECONDS)


def forget(token_hashes: Iterable[str]) -> None:
    """Drop the cached tokens with these hashes now and once more after commit."""
    keys = [_key(h) for h in token_hashes]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def _hashes(**lookup: Any) -> list[str]:
    return list(ApiToken.objects.filter(**lookup).values_list("token_hash", flat=True))


def on_token_changed(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    forget([instance.token_hash])


def on_user_changed(sender: Any, instance: User, created: bool = False, **kwargs: Any) -> None:
    if not created:
        forget(_hashes(user_id=instance.pk))


def on_role_changed(sender: Any, instance: Role, created: bool = False, **kwargs: Any) -> None:
    if not created:
        forget(_hashes(user__role_id=instance.pk))


def on_tenant_changed(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created:
        forget(_hashes(user__tenant_id=instance.pk))


def connect() -> None:
    """Connect the receivers that keep the cache honest (AccountsConfig.ready)."""
    from tenants.models import Tenant

    for model, receiver in (
        (ApiToken, on_token_changed),
        (User, on_user_changed),
        (Role, on_role_changed),
        (Tenant, on_tenant_changed),
    ):
        uid = f"api-token-cache:{model.__name__}"
        post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}:delete")
