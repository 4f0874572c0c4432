"""DRF permission that applies the tenant-access decision of ``accounts.access``."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.access import can_enter_tenant, user_is_msp


def read_only_token_refuses(request: Any) -> bool:
    """A read-only API token may use safe methods only."""
    return request.method not in SAFE_METHODS and bool(getattr(request.auth, "read_only", False))


class TenantAccess(BasePermission):
    """Tenant API: the user may enter ``request.tenant`` (else 404) and holds the view's permission.

    Views name the Django permissions they need as ``read_permission`` (safe methods)
    and ``write_permission`` (others).
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        if not request.user or not request.user.is_authenticated:
            return False
        if not can_enter_tenant(request.user, tenant):
            raise NotFound("No such tenant.")
        if read_only_token_refuses(request):
            self.message = "This API token is read-only."
            return False
        attr = "read_permission" if request.method in SAFE_METHODS else "write_permission"
        permission = getattr(view, attr, None)
        return permission is None or request.user.has_perm(permission)


class OwnTokens(BasePermission):
    """Token management: any signed-in user, for their own tokens; not with a read-only token."""

    message = "This API token is read-only."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and not read_only_token_refuses(request)


class MspPermission(BasePermission):
    """Public (MSP-wide) API: MSP staff only, holding the view's permission."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user_is_msp(user):
            return False
        if read_only_token_refuses(request):
            self.message = "This API token is read-only."
            return False
        attr = "read_permission" if request.method in SAFE_METHODS else "write_permission"
        permission = getattr(view, attr, None)
        return permission is None or user.has_perm(permission)
