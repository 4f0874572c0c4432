"""Admin for users, roles, API tokens and MFA authenticators.

OAuth tokens and MFA secrets are never shown, listed or editable; an API token's secret
is shown once, in the message after it is created. Models of the sign-in libraries that
the product does not use (Django groups: roles replace them; social-auth's OpenID 1
nonces and associations) are taken out of the admin.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from social_django.models import Association, Nonce

from accounts.forms import RoleForm, UserChangeForm, UserCreationForm
from accounts.models import ApiToken, Role, User
from accounts.services import create_api_token, revoke_api_token

# Their admin modules register first (autodiscover would import them after this one).
import_module("allauth.mfa.admin")
import_module("social_django.admin")
for unused in (Group, Association, Nonce, Authenticator):
    if admin.site.is_registered(unused):
        admin.site.unregister(unused)


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


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "read_only", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = [
        "name",
        "user",
        "prefix",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["read_only"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["user", "name", "prefix", "read_only", "expires_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["user", "name", "read_only", "expires_at"]
        return self.get_readonly_fields(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"user": request.user.pk}

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        owner = form.cleaned_data["user"]
        if owner != request.user and not request.user.is_superuser:
            owner = request.user
        token, clear = create_api_token(
            user=owner,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data.get("expires_at"),
            read_only=form.cleaned_data.get("read_only", False),
            actor=request.user,
            request=request,
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(request, f"Copy the token now; it is not shown again: {clear}")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset:
            revoke_api_token(token=token, actor=request.user, request=request)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    """A user's MFA devices: list and delete (a lost phone); the secret data never shows."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
