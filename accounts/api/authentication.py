"""DRF authentication by API token: ``Authorization: Bearer <token>`` or ``Token <token>``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from accounts.services import authenticate_api_token

SCHEMES = (b"bearer", b"token")


class ApiTokenAuthentication(BaseAuthentication):
    """Sets ``request.auth`` to the ApiToken; a bad token is a 401, never anonymous access."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Give the token after the scheme, with no spaces.")
        try:
            clear = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("The token is not valid.") from exc
        token = authenticate_api_token(clear, request=request)
        if token is None:
            raise AuthenticationFailed("The token is unknown, revoked or expired.")
        if not token.user.is_active:
            raise AuthenticationFailed("The token's user is inactive.")
        from auditlog.context import set_request_user

        set_request_user(token.user.get_username())
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes API token authentication in the OpenAPI schema."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from /api/v1/tokens/ as `Authorization: Bearer <token>`.",
        }
