"""Read-only serializers of collected configuration; every record names its tenant."""

from __future__ import annotations

from rest_framework import serializers

from configurations.models import Configuration, ConfigurationHistory, PollRun
from driftdetector.api.fields import TenantField


class TenantTagged(serializers.Serializer):
    """Adds ``tenant: {id, slug}`` so a record that leaves its schema says whose it is."""

    tenant = TenantField()


class ConfigurationSerializer(TenantTagged, serializers.ModelSerializer):
    class Meta:
        model = Configuration
        fields = [
            "id",
            "tenant",
            "source",
            "resource_id",
            "resource_type",
            "resource_name",
            "subscription_id",
            "resource_group",
            "location",
            "config_hash",
            "first_seen",
            "last_updated",
            "deleted_at",
        ]


class ConfigurationDetailSerializer(ConfigurationSerializer):
    class Meta(ConfigurationSerializer.Meta):
        fields = [*ConfigurationSerializer.Meta.fields, "config_data"]


class ConfigurationHistorySerializer(TenantTagged, serializers.ModelSerializer):
    class Meta:
        model = ConfigurationHistory
        fields = [
            "id",
            "tenant",
            "configuration",
            "change_type",
            "changed_at",
            "changed_by",
            "poll_run",
            "previous_config",
            "new_config",
        ]


class PollRunSerializer(TenantTagged, serializers.ModelSerializer):
    class Meta:
        model = PollRun
        fields = [
            "id",
            "tenant",
            "status",
            "trigger",
            "started_at",
            "finished_at",
            "seen",
            "created",
            "updated",
            "deleted",
            "restored",
            "unchanged",
            "pages",
            "azure_calls",
            "throttle_waits",
            "throttle_wait_seconds",
            "duration_seconds",
            "subscriptions_complete",
            "subscriptions_incomplete",
            "subscription_states",
            "error",
        ]
