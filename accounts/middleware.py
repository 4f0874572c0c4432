"""Turn a refused or failed Entra sign-in into a clear 403 page and an audit event."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from social_core.exceptions import SocialAuthBaseException

from accounts.entra import EntraRefused


class EntraSignInErrorMiddleware:
    """social-auth raises on every failed check (state, signature, audience, issuer,
    expiry, nonce, refusal by our pipeline); the user sees why, the audit log keeps it."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SocialAuthBaseException):
            return None
        from auditlog.services import record_auth_event

        if isinstance(exception, EntraRefused):
            reason = exception.reason
        else:
            reason = "The sign-in response from Microsoft could not be verified."
        record_auth_event(
            request=request,
            action="login_failed",
            status="failure",
            method="entra",
            detail={"reason": reason, "error": type(exception).__name__, "detail": str(exception)},
        )
        context = {"reason": reason}
        response = TemplateResponse(request, "accounts/entra_refused.html", context, status=403)
        return response.render()
