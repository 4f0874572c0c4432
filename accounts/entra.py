"""Entra ID (Azure AD) sign-in through social-auth's ``azuread-v2-tenant-oauth2`` backend.

One multi-tenant app registration (authority ``/organizations``). social-auth checks the
id_token's signature against the JWKS, ``aud``, ``iss`` (with the token's ``tid``) and
expiry; :class:`EntraOAuth2` adds the OpenID ``nonce``, which that backend neither sends
nor checks. The pipeline maps ``tid`` to a Tenant (the MSP's own tid to the public
tenant) and signs in only a user who was invited there: linked by object id
(``microsoft_id``), or on the first sign-in by the token's ``preferred_username`` (the
UPN, the sign-in name) equal to the invited user's username or invited address. Never by
the token's ``email``: Entra sends it only as an optional claim, it may differ from the
UPN and the user can change it, so it must not decide who signs in. Nobody is created.
Tokens are kept encrypted on the User, never in social-auth's plain ``extra_data``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from social_core.backends.azuread_tenant import AzureADV2TenantOAuth2
from social_core.exceptions import AuthException
from social_core.utils import constant_time_compare

NONCE_SESSION_KEY = "entra_oidc_nonces"


class EntraRefused(AuthException):
    """The Entra account may not sign in here; ``reason`` is shown and audited."""

    def __init__(self, backend: Any, reason: str) -> None:
        super().__init__(backend, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class EntraOAuth2(AzureADV2TenantOAuth2):
    """The v2 tenant backend plus an OpenID Connect nonce bound to the OAuth state."""

    name = "azuread-v2-tenant-oauth2"

    def auth_params(self, state: str | None = None) -> dict[str, Any]:
        params = super().auth_params(state)
        nonce = secrets.token_urlsafe(24)
        nonces = dict(self.strategy.session_get(NONCE_SESSION_KEY) or {})
        nonces[state or ""] = nonce
        self.strategy.session_set(NONCE_SESSION_KEY, dict(list(nonces.items())[-5:]))
        params["nonce"] = nonce
        return params

    def validate_and_return_id_token(self, id_token: str) -> dict[str, Any]:
        claims = super().validate_and_return_id_token(id_token)
        nonces = dict(self.strategy.session_get(NONCE_SESSION_KEY) or {})
        expected = nonces.pop(self.get_request_state() or "", None)
        self.strategy.session_set(NONCE_SESSION_KEY, nonces)
        received = claims.get("nonce")
        if not expected or not isinstance(received, str):
            raise EntraRefused(self, "The sign-in response carried no valid nonce.")
        if not constant_time_compare(received, expected):
            raise EntraRefused(self, "The sign-in response's nonce does not match.")
        return claims


def _tenant_for(tid: str) -> Any:
    from tenants.models import Tenant
    from tenants.selectors import public_tenant

    msp_tid = (settings.ENTRA_MSP_TENANT_ID or "").lower()
    if msp_tid and tid == msp_tid:
        return public_tenant()
    return Tenant.objects.filter(azure_tenant_id__iexact=tid, is_active=True).first()


def find_invited_user(
    backend: Any, uid: str, response: dict[str, Any], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """Pipeline step: the invited, active user of the token's tenant, or EntraRefused."""
    from accounts.models import User

    tid = str(response.get("tid") or "").lower()
    oid = str(response.get("oid") or "").lower()
    if not tid or not oid:
        raise EntraRefused(backend, "The token has no tenant or object id.")
    tenant = _tenant_for(tid)
    if tenant is None:
        raise EntraRefused(
            backend, "Your organisation's Entra tenant is not a customer of this service."
        )
    upn = str(response.get("preferred_username") or "").strip()
    users = User.objects.filter(tenant=tenant).select_related("tenant")
    user = users.filter(microsoft_id=oid).first()
    if user is None and "@" in upn:
        unlinked = users.filter(Q(microsoft_id__isnull=True) | Q(microsoft_id=""))
        user = (
            unlinked.filter(Q(username__iexact=upn) | Q(email__iexact=upn)).order_by("pk").first()
        )
    if user is None:
        raise EntraRefused(
            backend, "You have not been invited to this service; ask your MSP for access."
        )
    if not user.is_active:
        raise EntraRefused(backend, "Your account here is disabled.")
    social = backend.strategy.storage.user.get_social_auth(backend.name, uid)
    return {"user": user, "social": social, "is_new": False}


def update_user_from_token(
    backend: Any, user: Any, response: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    """Pipeline step: link the object id, refresh names and email, store tokens encrypted.

    Names and the mailbox address come from optional claims; absent ones keep the
    stored values (the UPN is a sign-in name, not necessarily a mailbox).
    """
    user.microsoft_id = str(response.get("oid")).lower()
    user.first_name = str(response.get("given_name") or user.first_name)[:150]
    user.last_name = str(response.get("family_name") or user.last_name)[:150]
    email = response.get("email")
    if email:
        user.email = str(email)
    user.access_token = str(response.get("access_token") or "")
    user.refresh_token = str(response.get("refresh_token") or "")
    expires_in = int(response.get("expires_in") or 0)
    user.token_expiry = timezone.now() + timedelta(seconds=expires_in) if expires_in else None
    user.save(
        update_fields=[
            "microsoft_id",
            "first_name",
            "last_name",
            "email",
            "access_token",
            "refresh_token",
            "token_expiry",
        ]
    )


def record_sign_in(
    backend: Any, user: Any, response: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    """Pipeline step: the audit event of a successful Entra sign-in."""
    from auditlog.services import record_auth_event

    record_auth_event(
        request=backend.strategy.request,
        action="login",
        user=user,
        method="entra",
        detail={"tid": response.get("tid"), "oid": response.get("oid")},
    )
