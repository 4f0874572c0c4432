"""Serializers of the notifications API; URLs and secrets are write-only (never serialised)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from notifications import services
from notifications.choices import Event, Mode
from notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    NotificationRule,
    Snooze,
)


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A service's field errors as a DRF 400."""
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    )


def _actor(serializer: serializers.Serializer) -> str:
    return serializer.context["request"].user.get_username()


class ChannelSerializer(serializers.ModelSerializer):
    url = serializers.CharField(write_only=True, required=False, allow_blank=True)
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_url = serializers.SerializerMethodField()
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "addresses",
            "url",
            "secret",
            "has_url",
            "has_secret",
            "enabled",
            "disabled_reason",
            "consecutive_failures",
            "created_at",
        ]
        read_only_fields = ["disabled_reason", "consecutive_failures", "created_at"]

    def get_has_url(self, obj: Channel) -> bool:
        return bool(obj.url)

    def get_has_secret(self, obj: Channel) -> bool:
        return bool(obj.secret)

    def validate_addresses(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise serializers.ValidationError("a list of email addresses")
        return value

    def create(self, validated_data: dict[str, Any]) -> Channel:
        try:
            return services.create_channel(
                name=validated_data["name"],
                kind=validated_data["kind"],
                actor=_actor(self),
                url=validated_data.get("url", ""),
                addresses=validated_data.get("addresses", []),
                secret=validated_data.get("secret", ""),
                msp=self.Meta.model.is_msp,
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None

    def update(self, instance: Channel, validated_data: dict[str, Any]) -> Channel:
        if "kind" in validated_data and validated_data["kind"] != instance.kind:
            raise serializers.ValidationError({"kind": "the kind of a channel cannot change"})
        try:
            return services.update_channel(
                channel=instance,
                actor=_actor(self),
                name=validated_data.get("name"),
                url=validated_data.get("url", ""),
                addresses=validated_data.get("addresses"),
                secret=validated_data.get("secret", ""),
                enabled=validated_data.get("enabled"),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None


class RuleSerializer(serializers.ModelSerializer):
    min_severity = serializers.CharField()
    mode = serializers.CharField(required=False, default=Mode.IMMEDIATE)
    events = serializers.ListField(child=serializers.CharField(), required=False)
    resource_types = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    channels = serializers.PrimaryKeyRelatedField(many=True, queryset=Channel.objects.all())

    class Meta:
        model = NotificationRule
        fields = [
            "id",
            "name",
            "enabled",
            "min_severity",
            "resource_types",
            "events",
            "poll_failing_passes",
            "mode",
            "digest_time",
            "timezone",
            "quiet_start",
            "quiet_end",
            "critical_bypasses_quiet_hours",
            "channels",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        merged = {
            "min_severity": attrs.get("min_severity", getattr(instance, "min_severity", "high")),
            "events": attrs.get(
                "events", getattr(instance, "events", [e.value for e in Event][:4])
            ),
            "mode": attrs.get("mode", getattr(instance, "mode", Mode.IMMEDIATE)),
            "timezone_name": attrs.get("timezone", getattr(instance, "timezone", "UTC")),
            "resource_types": attrs.get("resource_types", getattr(instance, "resource_types", [])),
        }
        try:
            services.validate_rule(**merged)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        return attrs


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "id",
            "started_at",
            "success",
            "http_status",
            "smtp_reply",
            "latency_ms",
            "response_snippet",
            "error",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    tenant = serializers.SerializerMethodField()
    attempt_log = AttemptSerializer(many=True, read_only=True)
    items = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "tenant",
            "summary",
            "rule",
            "channel",
            "channel_name",
            "report_id",
            "idempotency_key",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "last_error",
            "items",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_tenant(self, obj: Delivery) -> dict[str, Any]:
        tenant = self.context["request"].tenant
        return {"id": tenant.pk, "slug": tenant.slug}

    def get_items(self, obj: Delivery) -> list[dict[str, Any]]:
        return [
            {"finding": finding, "event": event, "severity": severity}
            for finding, event, severity in obj.items.values_list("finding_id", "event", "severity")
        ]


class SnoozeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Snooze
        fields = ["id", "finding", "rule", "until", "reason", "created_by", "created_at"]
        read_only_fields = ["created_by", "created_at"]

    def create(self, validated_data: dict[str, Any]) -> Snooze:
        finding, rule = validated_data.get("finding"), validated_data.get("rule")
        try:
            return services.snooze(
                actor=_actor(self),
                until=validated_data["until"],
                reason=validated_data.get("reason", ""),
                finding_id=finding.pk if finding else None,
                rule_id=rule.pk if rule else None,
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
