"""Admin for users and roles. OAuth tokens are never shown, listed or editable."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import RoleForm, UserChangeForm, UserCreationForm
from accounts.models import Role, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ["username", "email", "tenant", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["tenant", "role", "is_active", "is_staff"]
    search_fields = ["username", "email", "first_name", "last_name", "microsoft_id"]
    ordering = ["username"]
    list_select_related = ["tenant", "role"]
    readonly_fields = ["last_login", "created_at", "microsoft_id", "token_expiry"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Identity", {"fields": ("first_name", "last_name", "email", "microsoft_id")}),
        ("Tenant and role", {"fields": ("tenant", "role")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "created_at", "token_expiry")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "tenant", "role", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ()


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ["name", "scope", "description", "permission_count"]

    @admin.display(description="permissions")
    def permission_count(self, obj: Role) -> int:
        return len(obj.permissions)
