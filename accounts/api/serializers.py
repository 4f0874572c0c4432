"""Serializers of users, roles and API tokens."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiToken, Role, User
from tenants.models import Tenant


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "description", "scope", "permissions"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    role = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "tenant", "role", "is_active", "created_at"]
        read_only_fields = fields


class InviteSerializer(serializers.Serializer):
    """Invite a user into a tenant (slug; ``public`` for MSP staff) with a role (name)."""

    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    tenant = serializers.SlugRelatedField(slug_field="slug", queryset=Tenant.objects.all())
    role = serializers.SlugRelatedField(slug_field="name", queryset=Role.objects.all())


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "read_only",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once, on creation.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
