"""Writes for users and roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.db import transaction

from accounts.models import Role, User
from tenants.models import Tenant
from tenants.selectors import public_tenant


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
    return user, password


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
