"""Reads of the audit trail: filtered sign-ins and events, fleet sign-in summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from auditlog.fleet.models import AuditCollector, SignInHour
from auditlog.models import SigningLog


def audit_rows(
    *,
    source: str = "",
    user: str = "",
    app: str = "",
    status: str = "",
    ip: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
) -> QuerySet[SigningLog]:
    """The current schema's audit rows matching every given filter, newest first."""
    rows = SigningLog.objects.all()
    if source:
        rows = rows.filter(source=source)
    if user:
        rows = rows.filter(actor__iexact=user)
    if app:
        rows = rows.filter(resource__iexact=app)
    if status:
        rows = rows.filter(status=status)
    if ip:
        rows = rows.filter(client_ip=ip)
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    if until is not None:
        rows = rows.filter(timestamp__lt=until)
    if search:
        rows = rows.filter(
            Q(actor__icontains=search)
            | Q(action__icontains=search)
            | Q(resource__icontains=search)
            | Q(log_id=search)
        )
    return rows.order_by("-timestamp", "-id")


def fleet_sign_ins(tenant_ids: list[int], *, hours: int = 24) -> dict[int, dict[str, Any]]:
    """Per tenant: sign-ins, failed and risky in the last ``hours`` (public schema, one query
    each for the counts and the collectors), and why sign-ins are unavailable, if they are."""
    since = (timezone.now() - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    counts = {
        row["tenant_id"]: row
        for row in SignInHour.objects.filter(tenant_id__in=tenant_ids, hour__gte=since)
        .values("tenant_id")
        .annotate(total=Sum("total"), failed=Sum("failed"), risky=Sum("risky"))
    }
    collectors = {c.tenant_id: c for c in AuditCollector.objects.filter(tenant_id__in=tenant_ids)}
    out: dict[int, dict[str, Any]] = {}
    for tenant_id in tenant_ids:
        row = counts.get(tenant_id, {})
        collector = collectors.get(tenant_id)
        out[tenant_id] = {
            "total": row.get("total", 0),
            "failed": row.get("failed", 0),
            "risky": row.get("risky", 0),
            "unavailable": collector.signins_unavailable if collector else "",
            "error": (collector.last_error or collector.gap_warning) if collector else "",
            "collected": collector is not None and collector.last_run_at is not None,
        }
    return out
