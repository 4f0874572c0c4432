"""Reads of MSP-wide notification channels and rules (public schema) and of the
deliveries of MSP rules (connection in a tenant schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Delivery
from notifications.msp.models import MspChannel, MspNotificationRule


def msp_channels() -> QuerySet[MspChannel]:
    """MSP channels by name."""
    return MspChannel.objects.order_by("name")


def msp_rules() -> QuerySet[MspNotificationRule]:
    """MSP rules by name with their channels and tenants."""
    return MspNotificationRule.objects.prefetch_related("channels", "tenants").order_by("name")


def msp_deliveries(*, status: str | None = None) -> QuerySet[Delivery]:
    """This tenant's deliveries of MSP rules, newest first, with their attempts."""
    queryset = (
        Delivery.objects.filter(msp_rule_id__isnull=False)
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset
