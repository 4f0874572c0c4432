"""Authentication backend that grants each user the permissions listed on their role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class RolePermissionBackend(ModelBackend):
    """ModelBackend plus ``Role.permissions``, so admin and DRF checks work unchanged.

    It authenticates nobody: a password is checked only through allauth (rate limits,
    email verification, MFA) and Entra ID through social-auth, so no other path (the
    Django admin's own login form, say) can skip those checks.
    """

    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kw: Any):
        return None

    def get_role_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_role_perm_cache"):
            role = user_obj.role
            user_obj._role_perm_cache = set(role.permissions) if role else set()
        return user_obj._role_perm_cache

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return super().get_all_permissions(user_obj, obj) | self.get_role_permissions(user_obj, obj)
