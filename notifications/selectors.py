"""Reads of notifications (connection already in the tenant schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Channel, Delivery


def channels() -> QuerySet[Channel]:
    """Channels by name."""
    return Channel.objects.order_by("name")


def deliveries(*, status: str | None = None, channel: str | None = None) -> QuerySet[Delivery]:
    """Deliveries newest first with their attempts, optionally by status or channel id."""
    queryset = Delivery.objects.prefetch_related("attempt_log").order_by("-created_at", "-id")
    if status:
        queryset = queryset.filter(status=status)
    if channel and channel.isdigit():
        queryset = queryset.filter(channel_id=int(channel))
    return queryset
