"""Reads of tenants and their settings."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from drift.choices import SEVERITIES
from tenants.defaults import default_settings
from tenants.models import Settings as TenantSettings
from tenants.models import Tenant


def public_tenant() -> Tenant:
    """The MSP's own tenant (schema ``public``)."""
    return Tenant.objects.get(schema_name=get_public_schema_name())


def customer_tenants() -> QuerySet[Tenant]:
    """Every tenant except the MSP's own."""
    return Tenant.objects.exclude(schema_name=get_public_schema_name())


# slug -> (monotonic time it was read, the active tenant); see active_tenant_by_slug.
_active_by_slug: dict[str, tuple[float, Tenant]] = {}
_ACTIVE_BY_SLUG_MAX = 4096


def active_tenant_by_slug(slug: str) -> Tenant | None:
    """The active tenant with this slug, or None (callers answer 404 either way).

    Every /t/<slug>/ request asks, so a found tenant is kept in this process for
    ``TENANT_CACHE_SECONDS`` (the query and its extra SET search_path were a tenth of a
    list page). Saving or deleting any tenant empties this process's cache at once
    (``forget_tenants``); other workers see a deactivation when their entry ages out.
    Unknown slugs are not kept, so a new tenant is served at once and random slugs
    cannot fill the cache.
    """
    ttl = settings.TENANT_CACHE_SECONDS
    now = time.monotonic()
    hit = _active_by_slug.get(slug)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is not None and ttl > 0:
        if len(_active_by_slug) >= _ACTIVE_BY_SLUG_MAX:
            _active_by_slug.clear()
        _active_by_slug[slug] = (now, tenant)
    else:
        _active_by_slug.pop(slug, None)
    return tenant


def forget_tenants(*args: object, **kwargs: object) -> None:
    """Empty this process's slug cache (a receiver of Tenant's post_save / post_delete)."""
    _active_by_slug.clear()


def current_settings(tenant: Tenant) -> TenantSettings | None:
    """The settings version in force for ``tenant`` (its newest row)."""
    return TenantSettings.objects.filter(tenant=tenant).order_by("-last_updated", "-id").first()


def msp_default_settings() -> dict[str, dict]:
    """The documents a new tenant starts from: the MSP's current settings, else the shipped ones."""
    msp = current_settings(public_tenant())
    if msp is None:
        return default_settings()
    return {
        "notification_settings": msp.notification_settings,
        "polling_settings": msp.polling_settings,
        "drift_thresholds": msp.drift_thresholds,
    }


FLEET_SORT_KEYS = (
    "name",
    "slug",
    "resources",
    "last_poll",
    "last_success",
    "critical",
    "high",
    "medium",
    "low",
    "open",
    "worst",
    "trend",
)
TREND_DAYS = 30


def _sort_value(row: dict, key: str) -> tuple:
    status = row["status"]
    findings = (status.open_findings if status else None) or {}
    if key in ("name", "slug"):
        return (getattr(row["tenant"], key).lower(),)
    if key in SEVERITIES:
        return (findings.get(key, 0),)
    if key == "worst":  # most critical first, then high, ... (ranks, not names)
        return tuple(findings.get(severity, 0) for severity in reversed(SEVERITIES))
    if key == "open":
        return (sum(findings.values()),)
    if key == "trend":  # growth of open findings over the window, then the open count
        return (trend_change(row.get("trend") or []), sum(findings.values()))
    if key == "resources":
        return (status.resource_count if status else 0,)
    field = "last_poll_at" if key == "last_poll" else "last_successful_poll_at"
    value = getattr(status, field, None) if status else None
    return (value is not None, value.timestamp() if value else 0.0)


def trend_change(series: list[int | None]) -> int:
    """Open findings now minus at the first known day of the window (0 if unknown)."""
    known = [value for value in series if value is not None]
    return known[-1] - known[0] if len(known) > 1 else 0


def finding_trends(tenant_ids: list[int], days: int = TREND_DAYS) -> dict[int, list[int | None]]:
    """Open findings (all severities) per day over the last ``days`` days, per tenant."""
    from django.utils import timezone

    from tenants.charts import daily_series
    from tenants.models import FindingTrendPoint

    today = timezone.localdate()
    by_tenant: dict[int, dict] = {tenant_id: {} for tenant_id in tenant_ids}
    # Summed in PostgreSQL (decoding thousands of JSON documents in Python is the slow part).
    from django.db.models import IntegerField, Value
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast, Coalesce

    total = sum(
        (Coalesce(Cast(KT(f"open_findings__{s}"), IntegerField()), Value(0)) for s in SEVERITIES),
        start=Value(0),
    )
    rows = (
        FindingTrendPoint.objects.filter(
            tenant_id__in=tenant_ids, day__gt=today - timedelta(days=days + 30)
        )
        .annotate(total=total)
        .values_list("tenant_id", "day", "total")
    )
    for tenant_id, day, count in rows:
        by_tenant[tenant_id][day] = count
    return {tenant_id: daily_series(points, today, days) for tenant_id, points in by_tenant.items()}


def fleet_trend(trends: dict[int, list[int | None]], days: int = TREND_DAYS) -> list[int | None]:
    """The fleet's open findings per day: the sum of the tenants known on that day."""
    total: list[int | None] = [None] * days
    for series in trends.values():
        for i, value in enumerate(series):
            if value is not None:
                total[i] = (total[i] or 0) + value
    return total


def fleet_rows(order: str = "name") -> list[dict]:
    """One row per customer tenant for the fleet page: identity, schedule, poll state, open
    drift by severity and its 30-day trend, sorted by ``order`` (a FLEET_SORT_KEYS name,
    ``-`` for descending; unknown names sort by name)."""
    from django_celery_beat.models import PeriodicTask

    from tenants.charts import polyline_points

    tasks = {
        task.name: task
        for task in PeriodicTask.objects.filter(name__startswith="poll-tenant:").select_related(
            "interval"
        )
    }
    rows = []
    for tenant in customer_tenants().select_related("status").order_by("name"):
        task = tasks.get(f"poll-tenant:{tenant.slug}")
        rows.append(
            {
                "tenant": tenant,
                "status": getattr(tenant, "status", None),
                "poll_every": str(task.interval) if task and task.interval else "not scheduled",
                "poll_enabled": bool(task and task.enabled),
            }
        )
    trends = finding_trends([row["tenant"].pk for row in rows])
    for row in rows:
        series = trends[row["tenant"].pk]
        row["trend"] = series
        row["trend_points"] = polyline_points(series, 120, 28)
        row["trend_now"] = series[-1] if series else None
        row["trend_days"] = sum(1 for value in series if value is not None)
    key = order.lstrip("-")
    if key not in FLEET_SORT_KEYS:
        key, order = "name", "name"
    rows.sort(key=lambda row: _sort_value(row, key), reverse=order.startswith("-"))
    return rows
