"""allauth adapters: no self sign-up (users are invited), throttled logins are audited,
MFA secrets encrypted at rest."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.forms import ValidationError
from django.http import HttpRequest

from accounts import crypto


class AccountAdapter(DefaultAccountAdapter):
    """Local accounts for invited users only (MSP staff and customer users)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Nobody signs up: the MSP creates users in a tenant (tenant isolation depends on it)."""
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth's login rate limit, with a refused attempt written to the audit log."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            from auditlog.services import record_auth_event

            record_auth_event(
                request=request,
                action="login_throttled",
                status="failure",
                username=str(credentials.get("username") or credentials.get("email") or ""),
                detail={"reason": "too many failed logins"},
            )
            raise


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds encrypted at rest with FIELD_ENCRYPTION_KEYS.

    allauth stores them in ``Authenticator.data`` in the clear unless the adapter
    encrypts; ``rotate_encryption_keys`` re-encrypts them with the newest key.
    """

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
