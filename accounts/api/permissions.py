"""DRF permissions that apply the tenant-access decision of ``accounts.access``."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.access import can_enter_tenant, user_is_msp

READ_ONLY_REFUSAL = "This API token is read-only."


def read_only_token_refuses(request: Any) -> bool:
    """A read-only API token may use safe methods only."""
    return request.method not in SAFE_METHODS and bool(getattr(request.auth, "read_only", False))


class ViewPermission(BasePermission):
    """The view's own permission: ``read_permission`` for safe methods, ``write_permission``
    for others (Django permission names; none named: any user let in so far), and never a
    write with a read-only token."""

    def holds_view_permission(self, request: Any, view: Any) -> bool:
        if read_only_token_refuses(request):
            self.message = READ_ONLY_REFUSAL
            return False
        attr = "read_permission" if request.method in SAFE_METHODS else "write_permission"
        permission = getattr(view, attr, None)
        return permission is None or request.user.has_perm(permission)


class TenantAccess(ViewPermission):
    """Tenant API: the user may enter ``request.tenant`` (else 404) and holds the view's
    permission."""

    def has_permission(self, request: Any, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        if not request.user or not request.user.is_authenticated:
            return False
        if not can_enter_tenant(request.user, tenant):
            raise NotFound("No such tenant.")
        return self.holds_view_permission(request, view)


class MspPermission(ViewPermission):
    """Public (MSP-wide) API: MSP staff only, holding the view's permission."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user_is_msp(user):
            return False
        return self.holds_view_permission(request, view)


class OwnTokens(BasePermission):
    """Token management: any signed-in user, for their own tokens; not with a read-only token."""

    message = READ_ONLY_REFUSAL

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and not read_only_token_refuses(request)
