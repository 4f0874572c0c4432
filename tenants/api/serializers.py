"""Serializers for tenants and their settings; writes go through ``tenants.services``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from tenants.models import Settings as TenantSettings
from tenants.models import Tenant
from tenants.validation import settings_errors


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """Turn a field-keyed Django ValidationError into DRF's."""
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    )


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "schema_name", "azure_tenant_id", "is_active", "created_at"]
        read_only_fields = ["id", "schema_name", "is_active", "created_at"]
        extra_kwargs = {"slug": {"validators": []}, "azure_tenant_id": {"validators": []}}


class SettingsSerializer(serializers.ModelSerializer):
    tenant = serializers.SerializerMethodField()

    class Meta:
        model = TenantSettings
        fields = [
            "id",
            "tenant",
            "notification_settings",
            "polling_settings",
            "drift_thresholds",
            "last_updated",
            "changed_by",
        ]
        read_only_fields = ["id", "tenant", "last_updated", "changed_by"]

    def get_tenant(self, obj: TenantSettings) -> dict[str, Any]:
        return {"id": obj.tenant_id, "slug": obj.tenant.slug}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {field: settings_errors(field, value) for field, value in attrs.items()}
        errors = {field: messages for field, messages in errors.items() if messages}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
