"""Serializers for tenants, credentials, the fleet and settings; writes go through
``tenants.services``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from tenants.models import AzureCredential, Tenant, TenantStatus
from tenants.models import Settings as TenantSettings
from tenants.validation import settings_errors

# A settings document larger than this is refused (the three documents are a few KB).
MAX_SETTINGS_DOCUMENT_BYTES = 64 * 1024


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """Turn a field-keyed Django ValidationError into DRF's."""
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    )


class AzureCredentialSerializer(serializers.ModelSerializer):
    """An app registration; the secret and certificate are write-only and never shown."""

    client_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=4096,
        style={"input_type": "password"},
    )
    certificate_pem = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=65536
    )
    has_secret = serializers.SerializerMethodField()
    has_certificate = serializers.SerializerMethodField()

    class Meta:
        model = AzureCredential
        fields = [
            "id",
            "name",
            "client_id",
            "client_secret",
            "certificate_pem",
            "has_secret",
            "has_certificate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}

    def get_has_secret(self, obj: AzureCredential) -> bool:
        return bool(obj.client_secret)

    def get_has_certificate(self, obj: AzureCredential) -> bool:
        return bool(obj.certificate_pem)


class TenantSerializer(serializers.ModelSerializer):
    azure_credential = serializers.PrimaryKeyRelatedField(
        queryset=AzureCredential.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "slug",
            "schema_name",
            "azure_tenant_id",
            "azure_credential",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "schema_name", "is_active", "created_at"]
        extra_kwargs = {"slug": {"validators": []}, "azure_tenant_id": {"validators": []}}


class OnboardSerializer(TenantSerializer):
    """Onboarding: an existing credential by id, or a new one in the same call."""

    new_credential = AzureCredentialSerializer(required=False, write_only=True)

    class Meta(TenantSerializer.Meta):
        fields = [*TenantSerializer.Meta.fields, "new_credential"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("azure_credential") and attrs.get("new_credential"):
            raise serializers.ValidationError(
                {"new_credential": ["Give azure_credential or new_credential, not both."]}
            )
        return attrs


class TenantStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = TenantStatus
        fields = [
            "last_poll_at",
            "last_poll_status",
            "last_poll_error",
            "last_successful_poll_at",
            "consecutive_failures",
            "resource_count",
            "open_findings",
            "last_detection_at",
        ]


class FleetRowSerializer(serializers.Serializer):
    """One customer tenant on the fleet summary."""

    tenant = serializers.SerializerMethodField()
    # A declared nested serializer builds its fields once per response; one made per row
    # in a method field rebuilt them 1,000 times (two thirds of the response at 1,000).
    status = TenantStatusSerializer(allow_null=True, read_only=True)
    poll_every = serializers.CharField()
    poll_enabled = serializers.BooleanField()
    trend = serializers.ListField(child=serializers.IntegerField(allow_null=True))

    def get_tenant(self, row: dict) -> dict[str, Any]:
        tenant = row["tenant"]
        return {
            "id": tenant.pk,
            "slug": tenant.slug,
            "name": tenant.name,
            "is_active": tenant.is_active,
        }


def fleet_row_data(rows: list[dict]) -> list[dict[str, Any]]:
    """The fleet summary as ``FleetRowSerializer(rows, many=True).data`` gives it, built
    directly: DRF's per-field machinery over 1,000 rows x 40 values took most of the
    response (datetimes stay objects; the JSON renderer writes them as the serializer
    does, ISO 8601 with ``Z``)."""
    fields = TenantStatusSerializer.Meta.fields
    data = []
    for row in rows:
        tenant, status = row["tenant"], row["status"]
        data.append(
            {
                "tenant": {
                    "id": tenant.pk,
                    "slug": tenant.slug,
                    "name": tenant.name,
                    "is_active": tenant.is_active,
                },
                "status": (
                    {field: getattr(status, field) for field in fields}
                    if status is not None
                    else None
                ),
                "poll_every": row["poll_every"],
                "poll_enabled": row["poll_enabled"],
                "trend": row["trend"],
            }
        )
    return data


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
        import json

        errors: dict[str, list[str]] = {}
        for field, value in attrs.items():
            size = len(json.dumps(value, ensure_ascii=False).encode())
            if size > MAX_SETTINGS_DOCUMENT_BYTES:
                errors[field] = [
                    f"The document is {size} bytes; at most "
                    f"{MAX_SETTINGS_DOCUMENT_BYTES} are allowed."
                ]
                continue
            messages = settings_errors(field, value)
            if messages:
                errors[field] = messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
