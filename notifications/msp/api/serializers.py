"""Serializers of the MSP notifications API; URLs and secrets are write-only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.api.serializers import ChannelSerializer, DeliverySerializer, RuleSerializer
from notifications.models import Delivery
from notifications.msp.models import MspChannel, MspNotificationRule
from tenants.selectors import customer_tenants


class MspChannelSerializer(ChannelSerializer):
    class Meta(ChannelSerializer.Meta):
        model = MspChannel


class MspRuleSerializer(RuleSerializer):
    channels = serializers.PrimaryKeyRelatedField(many=True, queryset=MspChannel.objects.all())
    tenants = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=customer_tenants()
    )

    class Meta(RuleSerializer.Meta):
        model = MspNotificationRule
        fields = [*RuleSerializer.Meta.fields, "all_tenants", "tenants"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        instance = self.instance
        all_tenants = attrs.get("all_tenants", getattr(instance, "all_tenants", True))
        tenants = attrs.get("tenants", list(instance.tenants.all()) if instance else [])
        if not all_tenants and not tenants:
            raise serializers.ValidationError({"tenants": "choose the tenants, or set all_tenants"})
        return attrs


class MspDeliverySerializer(DeliverySerializer):
    class Meta(DeliverySerializer.Meta):
        model = Delivery
        fields = [f for f in DeliverySerializer.Meta.fields if f not in ("rule", "channel")] + [
            "msp_rule_id",
            "msp_channel_id",
        ]
        read_only_fields = fields

    def get_tenant(self, obj: Delivery) -> dict[str, Any]:
        tenant = self.context["tenant"]
        return {"id": tenant.pk, "slug": tenant.slug}
