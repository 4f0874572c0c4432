"""Reads of tenants and their settings."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from drift.choices import SEVERITIES
from tenants.defaults import default_settings
from tenants.models import Settings as TenantSettings
from tenants.models import Tenant


def public_tenant() -> Tenant:
    """The MSP's own tenant (schema ``public``)."""
    return Tenant.objects.get(schema_name=get_public_schema_name())


def task_tenant(task_name: str) -> Tenant:
    """The tenant whose schema a Celery task runs in (its ``_schema_name`` header), with its
    Azure credential; a tenant task sent without a tenant schema is a programming error."""
    if connection.schema_name == get_public_schema_name():
        raise ValueError(f"{task_name} needs a tenant schema in its _schema_name header")
    return Tenant.objects.select_related("azure_credential").get(schema_name=connection.schema_name)


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
    """Open findings (all severities) per day over the last ``days`` days, per tenant.

    A day without a point carries the previous value forward (as ``charts.daily_series``);
    days before a tenant's first point are None. Reads the points' stored ``total``
    through a plain cursor: at 1,000 tenants that is 30,000 rows, and per-row JSON
    extraction and the ORM's converters were most of the fleet page's time.
    """
    from django.db import connection
    from django.utils import timezone

    from tenants.models import FindingTrendPoint

    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    query = (
        FindingTrendPoint.objects.filter(
            tenant_id__in=tenant_ids, day__gt=today - timedelta(days=days + 30), day__lte=today
        )
        .order_by("tenant_id", "day")
        .values_list("tenant_id", "day", "total")
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    series: dict[int, list[int | None]] = {tenant_id: [None] * days for tenant_id in tenant_ids}
    values: list[int | None] = []
    current, last, position = None, None, 0
    for tenant_id, day, count in rows:
        if tenant_id != current:
            values[position:] = [last] * (days - position)  # finish the previous tenant
            values, current, last, position = series[tenant_id], tenant_id, None, 0
        offset = (day - first).days
        if offset > position:
            values[position:offset] = [last] * (offset - position)
            position = offset
        last = count
    values[position:] = [last] * (days - position)
    return series


def poll_schedules() -> dict[str, tuple[str, bool]]:
    """PeriodicTask name -> (interval in words, enabled) of every tenant's polling task,
    read as values (1,000 model instances and their translated ``str()`` were a tenth of
    the fleet page)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    words: dict[tuple[int, str], str] = {}
    schedules = {}
    for name, enabled, every, period in PeriodicTask.objects.filter(
        name__startswith="poll-tenant:"
    ).values_list("name", "enabled", "interval__every", "interval__period"):
        text = "not scheduled"
        if every is not None:
            if (every, period) not in words:
                words[(every, period)] = str(IntervalSchedule(every=every, period=period))
            text = words[(every, period)]
        schedules[name] = (text, bool(enabled))
    return schedules


def fleet_trend(trends: dict[int, list[int | None]], days: int = TREND_DAYS) -> list[int | None]:
    """The fleet's open findings per day: the sum of the tenants known on that day."""
    total: list[int | None] = [None] * days
    for series in trends.values():
        for i, value in enumerate(series):
            if value is not None:
                total[i] = (total[i] or 0) + value
    return total


def fleet_rows(order: str = "name") -> list[dict]:
    """One row per customer tenant for the fleet page and API: identity, schedule, poll
    and change-watch state, open drift by severity and its 30-day trend, sorted by ``order`` (a
    FLEET_SORT_KEYS name, ``-`` for descending; unknown names sort by name). The SVG of
    a row's trend is drawn by ``with_trend_chart`` for the rows a page shows."""
    schedules = poll_schedules()
    rows = []
    tenants = customer_tenants().select_related("status", "change_watch").order_by("name")
    for tenant in tenants:
        every, enabled = schedules.get(f"poll-tenant:{tenant.slug}", ("not scheduled", False))
        rows.append(
            {
                "tenant": tenant,
                "status": getattr(tenant, "status", None),
                "watch": getattr(tenant, "change_watch", None),
                "poll_every": every,
                "poll_enabled": enabled,
            }
        )
    trends = finding_trends([row["tenant"].pk for row in rows])
    for row in rows:
        series = trends[row["tenant"].pk]
        row["trend"] = series
        row["trend_now"] = series[-1] if series else None
        row["trend_days"] = sum(1 for value in series if value is not None)
    key = order.lstrip("-")
    if key not in FLEET_SORT_KEYS:
        key, order = "name", "name"
    rows.sort(key=lambda row: _sort_value(row, key), reverse=order.startswith("-"))
    return rows


def with_trend_chart(row: dict) -> dict:
    """``row`` with the SVG points of its 30-day trend (drawn only for rows on screen)."""
    from tenants.charts import polyline_points

    row["trend_points"] = polyline_points(row["trend"], 120, 28)
    return row
