"""The one decision of who may enter which tenant, used by middleware, DRF and the admin."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import get_public_schema_name

ENTER_ANY_TENANT = "tenants.enter_any_tenant"


def user_is_msp(user: Any) -> bool:
    """True for a user of the MSP's own (public) tenant."""
    tenant = getattr(user, "tenant", None)
    return tenant is not None and tenant.schema_name == get_public_schema_name()


def can_enter_tenant(user: Any, tenant: Any) -> bool:
    """May ``user`` see tenant-scoped pages and API of ``tenant``?

    MSP staff: any active tenant, if their role grants ``tenants.enter_any_tenant``.
    Customer users: their own active tenant only. ``is_superuser`` alone grants nothing
    outside the MSP tenant (django-tenants shares auth across schemas).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active or tenant is None:
        return False
    if not tenant.is_active:
        return False
    if user_is_msp(user):
        return user.has_perm(ENTER_ANY_TENANT)
    return user.tenant_id == tenant.pk


def has_tenant_permission(user: Any, tenant: Any, permission: str | None = None) -> bool:
    """May ``user`` enter ``tenant`` and, if given, does their role grant ``permission``?"""
    if not can_enter_tenant(user, tenant):
        return False
    return permission is None or user.has_perm(permission)
