"""Declared filters of the configuration lists (identifiers match case-insensitively)."""

from __future__ import annotations

import django_filters

from configurations.models import Configuration, ConfigurationHistory, PollRun
from driftdetector.api.filters import UtcDateTimeFilter


class LowercaseFilter(django_filters.CharFilter):
    """Exact match on a column stored lower-case (uses its index)."""

    def filter(self, qs, value):
        return super().filter(qs, value.lower() if value else value)


class ConfigurationFilterSet(django_filters.FilterSet):
    type = LowercaseFilter(field_name="resource_type", max_length=200)
    subscription = LowercaseFilter(field_name="subscription_id", max_length=64)
    resource_group = LowercaseFilter(field_name="resource_group", max_length=200)
    resource_id = LowercaseFilter(field_name="resource_id", max_length=1024)
    deleted = django_filters.BooleanFilter(
        field_name="deleted_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Configuration
        fields = ["type", "subscription", "resource_group", "resource_id", "deleted"]


class HistoryFilterSet(django_filters.FilterSet):
    changed_after = UtcDateTimeFilter(field_name="changed_at", lookup_expr="gte")
    changed_before = UtcDateTimeFilter(field_name="changed_at", lookup_expr="lt")

    class Meta:
        model = ConfigurationHistory
        fields = ["change_type", "changed_after", "changed_before"]


class PollRunFilterSet(django_filters.FilterSet):
    started_after = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte")

    class Meta:
        model = PollRun
        fields = ["status", "trigger", "started_after"]
