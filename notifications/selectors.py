"""Reads of notifications (connection already in the tenant schema)."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Channel, Delivery


def channels() -> QuerySet[Channel]:
    """Channels by name."""
    return Channel.objects.order_by("name")


def deliveries(
    *, status: str | None = None, channel: str | None = None, with_msp: bool = False
) -> QuerySet[Delivery]:
    """Deliveries newest first with their attempts, optionally by status or channel id;
    those of MSP rules only ``with_msp`` (for MSP staff: customers never see MSP channels)."""
    queryset = Delivery.objects.prefetch_related("attempt_log").order_by("-created_at", "-id")
    if not with_msp:
        queryset = queryset.filter(msp_rule_id__isnull=True)
    if status:
        queryset = queryset.filter(status=status)
    if channel and channel.isdigit():
        queryset = queryset.filter(channel_id=int(channel))
    return queryset


def due_deliveries_across(schemas: list[str], *, limit: int = 5000) -> list[tuple[str, int]]:
    """(schema, delivery id) of every due delivery in these tenant schemas, in one query.

    The beat sweep runs every few seconds over the whole fleet; one UNION ALL over the
    schemas' delivery tables costs one round trip instead of several per tenant.
    """
    from django.db import connection

    if not schemas:
        return []
    # Schema names come from the Tenant table and are quoted as identifiers; values are
    # parameters.
    quote = connection.ops.quote_name
    parts = [
        "(SELECT %s AS schema_name, id, next_attempt_at FROM "  # noqa: S608
        + quote(schema)
        + ".notifications_delivery WHERE status IN ('pending', 'failed')"
        " AND next_attempt_at <= now() AND (enqueued_until IS NULL OR enqueued_until < now()))"
        for schema in schemas
    ]
    sql = " UNION ALL ".join(parts) + " ORDER BY next_attempt_at LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*schemas, limit])
        return [(schema, pk) for schema, pk, _ in cursor.fetchall()]
