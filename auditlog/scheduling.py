"""When each tenant's audit pass runs, and the retention purge (both from the public schema)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from auditlog.collection import (
    DEFAULT_INTERVAL_MINUTES,
    DEFAULT_RETENTION_DAYS,
    audit_setting,
)
from auditlog.fleet.models import AuditCollector, SignInHour
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# A pass sent but never finished (a dead worker) is sent again after this long.
SENT_GRACE = timedelta(minutes=10)


def due_tenants() -> list[str]:
    """Schemas of active customer tenants with a credential whose audit pass is due.

    Each due collector's ``next_run_at`` is pushed forward as it is claimed (rows locked
    with SKIP LOCKED), so two sweeps never send the same tenant twice; the pass itself
    sets the real next time when it finishes.
    """
    now = timezone.now()
    tenants = (
        Tenant.objects.filter(is_active=True, azure_credential__isnull=False)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .only("pk", "schema_name")
    )
    known = set(AuditCollector.objects.values_list("tenant_id", flat=True))
    AuditCollector.objects.bulk_create(
        [AuditCollector(tenant_id=t.pk) for t in tenants if t.pk not in known],
        ignore_conflicts=True,
    )
    schemas: list[str] = []
    with transaction.atomic():
        due = (
            AuditCollector.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(tenant__in=tenants)
            .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
            .select_related("tenant")
        )
        for collector in due:
            schemas.append(collector.tenant.schema_name)
            collector.next_run_at = now + SENT_GRACE
            collector.save(update_fields=["next_run_at"])
    return schemas


def purge_tenant(tenant: Tenant, *, now: datetime | None = None) -> int:
    """Delete ``tenant``'s audit rows older than its retention, ``AUDIT_PURGE_BATCH`` at a time."""
    now = now or timezone.now()
    days = audit_setting(tenant, "audit_retention_days", DEFAULT_RETENTION_DAYS)
    cutoff = now - timedelta(days=days)
    deleted = 0
    with schema_context(tenant.schema_name):
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM auditlog_signinglog WHERE id IN ("
                    " SELECT id FROM auditlog_signinglog WHERE timestamp < %s"
                    " ORDER BY timestamp LIMIT %s)",
                    [cutoff, settings.AUDIT_PURGE_BATCH],
                )
                batch = cursor.rowcount
            deleted += batch
            if batch < settings.AUDIT_PURGE_BATCH:
                break
    return deleted


def purge_all() -> dict[str, int]:
    """Purge every tenant (the MSP's public schema included) and old sign-in summaries."""
    out: dict[str, int] = {}
    for tenant in Tenant.objects.all():
        count = purge_tenant(tenant)
        if count:
            out[tenant.slug] = count
    SignInHour.objects.filter(hour__lt=timezone.now() - timedelta(days=2)).delete()
    return out


__all__ = ["DEFAULT_INTERVAL_MINUTES", "due_tenants", "purge_all", "purge_tenant"]
