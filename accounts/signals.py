"""Audit receivers for authentication events (connected in AccountsConfig.ready).

Django's own signals cover every login path (allauth's form and social-auth's pipeline
both end in ``django.contrib.auth.login``); allauth.mfa's signals cover MFA. Entra ID
sign-ins are written by the Entra pipeline, which knows the token's tenant and object id.
"""

from __future__ import annotations

from typing import Any

from accounts.selectors import user_for_login
from auditlog.services import record_auth_event

ENTRA_BACKEND_MARKERS = ("social_core", "accounts.entra")


def _is_entra(user: Any) -> bool:
    backend = getattr(user, "backend", "") or ""
    return any(marker in backend for marker in ENTRA_BACKEND_MARKERS)


def on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if not _is_entra(user):
        record_auth_event(request=request, action="login", user=user, method="password")


def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_auth_event(request=request, action="logout", user=user, method="session")


def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any):
    username = str(credentials.get("username") or credentials.get("email") or "")
    user = user_for_login(username)
    record_auth_event(
        request=request,
        action="login_failed",
        status="failure",
        user=user,
        username=username,
        detail={"reason": "wrong username or password" if user else "unknown user"},
    )


def on_mfa_event(action: str, status: str = "success"):
    def receiver(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
        authenticator = kwargs.get("authenticator")
        detail = {"type": getattr(authenticator, "type", "")} if authenticator else {}
        record_auth_event(
            request=request, action=action, status=status, user=user, method="mfa", detail=detail
        )

    return receiver


MFA_RECEIVERS = {
    "authenticator_added": on_mfa_event("mfa_added"),
    "authenticator_removed": on_mfa_event("mfa_removed"),
    "authenticator_reset": on_mfa_event("mfa_reset"),
    "authenticator_used": on_mfa_event("mfa_used"),
    "authentication_failed": on_mfa_event("mfa_failed", status="failure"),
}


def connect() -> None:
    """Connect the receivers (idempotent: dispatch_uid)."""
    from allauth.mfa import signals as mfa_signals
    from django.contrib.auth import signals as auth_signals

    auth_signals.user_logged_in.connect(on_logged_in, dispatch_uid="audit-login")
    auth_signals.user_logged_out.connect(on_logged_out, dispatch_uid="audit-logout")
    auth_signals.user_login_failed.connect(on_login_failed, dispatch_uid="audit-login-failed")
    for name, receiver in MFA_RECEIVERS.items():
        getattr(mfa_signals, name).connect(receiver, dispatch_uid=f"audit-{name}")
