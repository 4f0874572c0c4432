"""Reads of collected configuration (connection already in the tenant schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from configurations.models import Configuration, ConfigurationHistory, PollRun


def configurations(
    *,
    resource_type: str | None = None,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    deleted: bool | None = None,
) -> QuerySet[Configuration]:
    """Resources of this tenant, optionally filtered (identifiers match case-insensitively)."""
    queryset = Configuration.objects.all().order_by("resource_id")
    if resource_type:
        queryset = queryset.filter(resource_type=resource_type.lower())
    if subscription_id:
        queryset = queryset.filter(subscription_id=subscription_id.lower())
    if resource_group:
        queryset = queryset.filter(resource_group=resource_group.lower())
    if deleted is not None:
        queryset = queryset.filter(deleted_at__isnull=not deleted)
    return queryset


def history_of(configuration_id: int) -> QuerySet[ConfigurationHistory]:
    """Changes of one resource, newest first."""
    return ConfigurationHistory.objects.filter(configuration_id=configuration_id).order_by(
        "-changed_at", "-id"
    )


def poll_runs() -> QuerySet[PollRun]:
    """Collection passes, newest first."""
    return PollRun.objects.order_by("-started_at")
