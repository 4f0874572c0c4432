"""Authentication backend that grants each user the permissions listed on their role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class RolePermissionBackend(ModelBackend):
    """ModelBackend plus ``Role.permissions``, so admin and DRF checks work unchanged."""

    def get_role_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_role_perm_cache"):
            role = user_obj.role
            user_obj._role_perm_cache = set(role.permissions) if role else set()
        return user_obj._role_perm_cache

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return super().get_all_permissions(user_obj, obj) | self.get_role_permissions(user_obj, obj)
