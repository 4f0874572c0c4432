"""Writes for users, roles and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import crypto, tokencache
from accounts.fields import EncryptedTextField
from accounts.models import ApiToken, Role, User
from tenants.models import Tenant
from tenants.selectors import public_tenant

logger = logging.getLogger(__name__)


def unknown_permission_names(names: Iterable[str]) -> list[str]:
    """The names in ``names`` that are not ``app_label.codename`` of an existing Permission."""
    wanted = set(names)
    known = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    return sorted(wanted - known)


@transaction.atomic
def ensure_msp_admin(
    username: str, email: str, password: str | None = None
) -> tuple[User, str | None]:
    """Return the MSP admin ``username``, creating it (given or generated password) if absent.

    The second value is the password when the user was created now, else None.
    """
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing, None
    password = password or secrets.token_urlsafe(12)
    user = User.objects.create_superuser(
        username, email, password, tenant=public_tenant(), role=Role.objects.get(name="MSP Admin")
    )
    mark_email_verified(user)
    return user, password


def mark_email_verified(user: User) -> None:
    """Record the user's email as verified and primary for allauth (an address the MSP
    entered itself, e.g. the break-glass admin's), so a local login needs no mail round trip."""
    from allauth.account.models import EmailAddress

    if not user.email:
        return
    EmailAddress.objects.update_or_create(
        user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
    )


def create_customer_user(
    tenant: Tenant,
    username: str,
    email: str,
    password: str | None,
    role_name: str = "Customer Viewer",
) -> User:
    """Create a user of a customer tenant with a customer role (never staff)."""
    user = User(
        tenant=tenant,
        username=username,
        email=email,
        role=Role.objects.get(name=role_name),
        is_staff=False,
        is_superuser=False,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


API_KEY_LEAD = "ddt"
LAST_USED_RESOLUTION_SECONDS = 60


def _token_hash(secret_token: str) -> str:
    return hashlib.sha256(secret_token.encode()).hexdigest()


def create_api_token(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    read_only: bool = False,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it and the clear token, which is never stored.

    ``actor`` (default: ``user``) is who asked for it, for the audit event.
    """
    if not name.strip():
        raise ValidationError({"name": "Give the token a name."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    prefix = secrets.token_hex(6)
    clear = f"{API_KEY_LEAD}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=prefix,
        token_hash=_token_hash(clear),
        read_only=read_only,
        expires_at=expires_at,
    )
    _audit_token(token, "created", actor or user, request)
    return token, clear


def revoke_api_token(
    *, token: ApiToken, actor: User | None = None, request: HttpRequest | None = None
) -> ApiToken:
    """Revoke ``token`` (idempotent); it authenticates nobody from now on."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _audit_token(token, "revoked", actor or token.user, request)
    return token


def authenticate_api_token(clear: str, request: HttpRequest | None = None) -> ApiToken | None:
    """The live token whose prefix and hash match ``clear``, else None.

    Records ``last_used_at`` and a ``api_token_used`` audit event at most once a minute
    per token (an audit row per API call would drown the log). A token that verified is
    served from ``accounts.tokencache`` until a write touching it drops it there.
    """
    parts = clear.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_LEAD:
        return None
    digest = _token_hash(clear)
    token = tokencache.cached(digest)
    fresh = token is None
    if fresh:
        token = tokencache.token_by_prefix(parts[1])
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    stale = now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        _audit_token(token, "used", token.user, request)
        fresh = True
    if fresh:
        tokencache.remember(token)
    return token


def _audit_token(
    token: ApiToken, action: str, actor: User, request: HttpRequest | None = None
) -> None:
    from auditlog.services import record_auth_event

    record_auth_event(
        request=request,
        action=f"api_token_{action}",
        user=actor,
        method="api_token",
        detail={
            "token_prefix": token.prefix,
            "token_name": token.name,
            "owner": token.user.username,
            "read_only": token.read_only,
        },
    )


MFA_SECRET_KEYS = ("secret", "seed")  # allauth.mfa: TOTP secret, recovery-code seed


def rotate_stored_secrets() -> dict[str, int]:
    """Re-encrypt every secret at rest with the newest key; returns rows per model.

    Covers each EncryptedTextField of the shared apps (reading decrypts with any key,
    saving encrypts with the first) and the encrypted values inside allauth's MFA
    authenticators. One transaction per model, rows locked while rewritten.
    """
    from allauth.mfa.models import Authenticator

    rotated: dict[str, int] = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
        if not fields or model._meta.app_label not in {"accounts", "tenants"}:
            continue
        with transaction.atomic():
            rows = model.objects.select_for_update().only("pk", *fields)
            for obj in rows:
                obj.save(update_fields=fields)
            rotated[model._meta.label] = len(rows)
    with transaction.atomic():
        authenticators = Authenticator.objects.select_for_update()
        for authenticator in authenticators:
            for key in MFA_SECRET_KEYS:
                if isinstance(authenticator.data.get(key), str):
                    authenticator.data[key] = crypto.rotate(authenticator.data[key])
            authenticator.save(update_fields=["data"])
        rotated[Authenticator._meta.label] = len(authenticators)
    return rotated


def invite_user(*, tenant: Tenant, username: str, email: str, role: Role, actor: str) -> User:
    """Create a user of ``tenant`` with ``role`` and no password: they sign in with
    Microsoft or set a password through the reset link. A customer tenant's user gets a
    customer role only; MSP staff (the public tenant) an MSP role only."""
    wanted = Role.Scope.MSP if tenant.schema_name == "public" else Role.Scope.CUSTOMER
    if role.scope != wanted:
        raise ValidationError({"role": f"Choose a role whose scope is {wanted.label}."})
    user = User(
        tenant=tenant,
        username=username,
        email=email,
        role=role,
        is_staff=role.scope == Role.Scope.MSP,
        is_superuser=False,
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    logger.info("user invited", extra={"username": username, "actor": actor})
    return user


def set_user_active(*, user: User, active: bool) -> User:
    """Let a user in or lock them out (their tokens stop working with them)."""
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user
