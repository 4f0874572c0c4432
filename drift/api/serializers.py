"""Serializers of drift: findings (with the rule that rated them), reports, baselines,
exceptions, and the bodies of the finding actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Count
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from drift import selectors
from drift.models import Baseline, DriftException, DriftFinding, DriftReport
from drift.services import IGNORE_SCOPES
from driftdetector.api.fields import TenantField, TenantRefSerializer

FINDING_FIELDS = [
    "id",
    "severity",
    "status",
    "kind",
    "resource_type",
    "resource_id",
    "path",
    "baseline_value",
    "current_value",
    "matched_rule",
    "changed_by",
    "flapping",
    "first_seen",
    "last_seen",
]


class RuleRefSerializer(serializers.Serializer):
    id = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    source = serializers.CharField(required=False)
    rationale = serializers.CharField(required=False)
    reference = serializers.CharField(required=False)


class FindingSerializer(serializers.ModelSerializer):
    tenant = TenantField()
    rule = serializers.SerializerMethodField()
    baseline_value = serializers.JSONField(allow_null=True)
    current_value = serializers.JSONField(allow_null=True)

    class Meta:
        model = DriftFinding
        fields = [
            *FINDING_FIELDS,
            "tenant",
            "status_changed_by",
            "status_changed_at",
            "resolved_at",
            "exception",
            "last_report",
            "rule",
        ]
        read_only_fields = fields

    @extend_schema_field(RuleRefSerializer)
    def get_rule(self, obj: DriftFinding) -> dict[str, str]:
        """The rule that rated the finding, with its rationale and reference."""
        if "rule_index" not in self.context:  # once per response, not per finding
            self.context["rule_index"] = selectors.rule_index(self.context["request"].tenant)
        return selectors.rule_details(obj, self.context["rule_index"])


class ReportSerializer(serializers.ModelSerializer):
    tenant = TenantField()

    class Meta:
        model = DriftReport
        fields = [
            "id",
            "tenant",
            "poll_run",
            "baseline",
            "started_at",
            "finished_at",
            "resources_compared",
            "resources_drifted",
            "by_severity",
            "by_kind",
            "opened",
            "resolved",
            "suppressed",
            "ignored",
            "error",
        ]
        read_only_fields = fields


SCOPES = ("tenant", "subscription", "resource_group")


class BaselineSerializer(serializers.ModelSerializer):
    """A baseline; on create, ``scope`` picks the whole tenant, one subscription or one
    resource group (then give ``subscription_id`` and ``resource_group``)."""

    tenant = TenantField()
    entries = serializers.IntegerField(source="entry_count", read_only=True)
    scope_kind = serializers.ChoiceField(choices=SCOPES, default="tenant", write_only=True)
    subscription_id = serializers.RegexField(r"^[0-9A-Fa-f-]{36}$", required=False, write_only=True)
    resource_group = serializers.RegexField(r"^[-\w.()]{1,90}$", required=False, write_only=True)

    class Meta:
        model = Baseline
        fields = [
            "id",
            "tenant",
            "name",
            "scope",
            "created_by",
            "created_at",
            "active",
            "entries",
            "scope_kind",
            "subscription_id",
            "resource_group",
        ]
        read_only_fields = ["id", "scope", "created_by", "created_at", "active"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("scope_kind", "tenant")
        prefix = ""
        if kind in ("subscription", "resource_group"):
            if not attrs.get("subscription_id"):
                raise serializers.ValidationError({"subscription_id": ["Required for this scope."]})
            prefix = f"/subscriptions/{attrs['subscription_id'].lower()}/"
        if kind == "resource_group":
            if not attrs.get("resource_group"):
                raise serializers.ValidationError({"resource_group": ["Required for this scope."]})
            prefix += f"resourcegroups/{attrs['resource_group'].lower()}/"
        return {"name": attrs["name"], "scope_prefix": prefix}


def with_entry_counts(queryset):
    return queryset.annotate(entry_count=Count("entries"))


class ExceptionSerializer(serializers.ModelSerializer):
    tenant = TenantField()
    accepted_value = serializers.JSONField(allow_null=True)

    class Meta:
        model = DriftException
        fields = [
            "id",
            "tenant",
            "resource_pattern",
            "path_pattern",
            "accepted_value",
            "reason",
            "approved_by",
            "approved_at",
            "expires_at",
        ]
        read_only_fields = fields


class ExceptionRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    expires_at = serializers.DateTimeField()

    def validate_expires_at(self, value: datetime) -> datetime:
        """In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows."""
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise serializers.ValidationError("The instant is out of range.") from exc


class IgnorePathRequestSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=IGNORE_SCOPES, default="resource")


class ActionResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField()
    finding = FindingSerializer()


class FleetFindingSerializer(serializers.Serializer):
    """A finding of any tenant, for MSP staff's cross-tenant search."""

    tenant = TenantRefSerializer()
    id = serializers.IntegerField()
    severity = serializers.CharField()
    status = serializers.CharField()
    kind = serializers.CharField()
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    path = serializers.CharField()
    changed_by = serializers.CharField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
