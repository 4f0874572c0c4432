"""Turn a refused or failed Entra sign-in into a clear page and an audit event."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from social_core.exceptions import AuthCanceled, AuthProviderError, SocialAuthBaseException

from accounts.entra import EntraRefused

# social-auth's codes for a provider that could not be reached or answered 5xx / 429.
PROVIDER_DOWN_CODES = {"connection_failed", "timeout", "unavailable", "rate_limited"}
UNVERIFIED = "The sign-in response from Microsoft could not be verified."
UNAVAILABLE = (
    "Microsoft sign-in is unavailable right now; try again later or sign in with your "
    "local account."
)

UNKNOWN_TENANT = (
    "Microsoft does not know the Entra tenant this sign-in was sent to (AADSTS90002). "
    "Ask your administrator to check the tenant configured for sign-in with Microsoft."
)


def _unknown_tenant(exception: Exception) -> bool:
    """Entra's ``invalid_tenant`` / AADSTS90002: the tenant id or domain does not exist."""
    code = str(getattr(exception, "provider_code", "") or "")
    return code == "invalid_tenant" or "AADSTS90002" in str(exception)


class EntraSignInErrorMiddleware:
    """social-auth raises on every failed check (state, signature, audience, issuer,
    expiry, nonce, refusal by our pipeline, Microsoft unreachable or failing); the user
    sees why (403, or 503 while Microsoft is down), the audit log
    keeps it, and nothing else is changed."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        status = 403
        if isinstance(exception, EntraRefused):
            reason = exception.reason
        elif isinstance(exception, SocialAuthBaseException) and _unknown_tenant(exception):
            reason, status = UNKNOWN_TENANT, 400
        elif isinstance(exception, AuthCanceled):
            reason = "Sign-in with Microsoft was cancelled."
        elif (
            isinstance(exception, AuthProviderError)
            and getattr(exception, "code", "") in PROVIDER_DOWN_CODES
        ):
            reason, status = UNAVAILABLE, 503
        elif isinstance(exception, SocialAuthBaseException):
            reason = UNVERIFIED
        else:
            return None
        from auditlog.services import record_auth_event

        record_auth_event(
            request=request,
            action="login_failed",
            status="failure",
            method="entra",
            detail={"reason": reason, "error": type(exception).__name__, "detail": str(exception)},
        )
        context = {"reason": reason}
        response = TemplateResponse(request, "accounts/entra_refused.html", context, status=status)
        return response.render()
