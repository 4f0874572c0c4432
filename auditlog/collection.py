"""Reading a customer tenant's Azure sign-ins and directory audits from Microsoft Graph.

One pass per tenant on its own schedule (``audit_interval_minutes``, default 5): each feed
is read from its high-water mark minus an overlap (Graph's logs arrive late), every page
is stored at once (deduplicated on Graph's id), and the high-water mark moves only when
the whole query was read, because Graph answers newest first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auditlog import mapping
from auditlog.fleet.models import AuditCollector
from auditlog.services import write_graph_rows
from driftdetector.azure import graphaudit
from driftdetector.azure.errors import AzureAccessError, AzureAuthError
from tenants.models import Tenant

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_MINUTES = 5
DEFAULT_RETENTION_DAYS = 365
LICENCE_MESSAGE = "sign-ins unavailable (licence)"
# A tenant without the licence is asked again this often (it may have bought one).
LICENCE_RECHECK = timedelta(hours=24)


@dataclass
class FeedResult:
    """What one feed of one pass did."""

    pages: int = 0
    read: int = 0
    written: int = 0
    newest: datetime | None = None
    error: str = ""
    skipped: str = ""


@dataclass
class AuditPassResult:
    """What one audit pass of one tenant did, by feed."""

    tenant: str
    feeds: dict[str, FeedResult] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (the task's return value)."""
        return {
            "tenant": self.tenant,
            **{
                name: {
                    "pages": r.pages,
                    "read": r.read,
                    "written": r.written,
                    "error": r.error,
                    "skipped": r.skipped,
                }
                for name, r in self.feeds.items()
            },
        }


def audit_setting(tenant: Tenant, key: str, default: int) -> int:
    """A per-tenant audit setting from the tenant's polling settings."""
    from tenants.selectors import current_settings

    version = current_settings(tenant)
    value = (version.polling_settings if version else {}).get(key)
    return int(value) if isinstance(value, int) and value > 0 else default


def _overlap() -> timedelta:
    return timedelta(minutes=settings.AUDIT_OVERLAP_MINUTES)


def _retention(collector: AuditCollector) -> timedelta:
    premium = not collector.signins_unavailable
    return graphaudit.RETENTION_PREMIUM if premium else graphaudit.RETENTION_FREE


def _start(collector: AuditCollector, mark: datetime | None, now: datetime, name: str) -> datetime:
    if mark is None:
        return now - timedelta(hours=settings.AUDIT_INITIAL_HOURS)
    retention = _retention(collector)
    if now - mark > retention:
        collector.gap_warning = (
            f"{name}: nothing read since {mark:%Y-%m-%d %H:%M} UTC, longer than Graph keeps "
            f"its logs ({retention.days} days): events before "
            f"{now - retention:%Y-%m-%d %H:%M} UTC are lost"
        )
        logger.warning("audit gap", extra={"feed": name, "since": mark.isoformat()})
        return now - retention
    return mark - _overlap()


def _read_feed(
    client: Any, base: str, feed: graphaudit.Feed, source: str, since: datetime, now: datetime
) -> FeedResult:
    result = FeedResult()
    for page in graphaudit.read_feed(client, base, feed, since, page_size=settings.AUDIT_PAGE_SIZE):
        result.pages += 1
        result.read += len(page)
        with transaction.atomic():
            result.written += write_graph_rows(source=source, objects=page, now=now)
        for obj in page:
            moment = mapping.parse_graph_time(obj.get(feed.time_field))
            if (
                moment is not None
                and moment <= now
                and (result.newest is None or moment > result.newest)
            ):
                result.newest = moment
    return result


def collect_tenant_audit(tenant: Tenant, *, now: datetime | None = None) -> AuditPassResult:
    """Read both Graph feeds of ``tenant`` (call in the tenant's schema); never raises for a
    Graph failure: the error is recorded on the tenant's collector and the other feed runs."""
    from configurations.services import discard_connection, open_connection

    now = now or timezone.now()
    collector, _ = AuditCollector.objects.get_or_create(tenant=tenant)
    collector.gap_warning = ""
    result = AuditPassResult(tenant=tenant.slug)
    errors: list[str] = []
    auth_failed = False
    conn = open_connection(tenant)
    client = graphaudit.graph_pipeline(conn)
    base = conn.endpoints.graph_endpoint
    feeds = (
        (graphaudit.SIGN_INS, mapping.SOURCE_SIGNIN, "signins_since"),
        (graphaudit.DIRECTORY_AUDITS, mapping.SOURCE_DIRECTORY, "audits_since"),
    )
    try:
        for feed, source, mark_field in feeds:
            if feed is graphaudit.SIGN_INS and collector.signins_unavailable:
                asked = collector.signins_unavailable_at
                if asked is not None and now - asked < LICENCE_RECHECK:
                    result.feeds[feed.name] = FeedResult(skipped=collector.signins_unavailable)
                    continue
            mark = getattr(collector, mark_field)
            since = _start(collector, mark, now, feed.name)
            try:
                outcome = _read_feed(client, base, feed, source, since, now)
            except graphaudit.GraphLicenceError:
                collector.signins_unavailable = LICENCE_MESSAGE
                collector.signins_unavailable_at = now
                result.feeds[feed.name] = FeedResult(skipped=LICENCE_MESSAGE)
                continue
            except AzureAccessError as exc:
                auth_failed = auth_failed or isinstance(exc, AzureAuthError)
                errors.append(f"{feed.name}: {exc}")
                result.feeds[feed.name] = FeedResult(error=str(exc))
                continue
            if feed is graphaudit.SIGN_INS:
                collector.signins_unavailable = ""
                collector.signins_unavailable_at = None
            newest = outcome.newest or mark
            # Nothing newer than the pass's start: the next pass starts no earlier than that.
            setattr(collector, mark_field, max(filter(None, (mark, newest)), default=None))
            collector.rows_written += outcome.written
            result.feeds[feed.name] = outcome
    finally:
        client.close()
    if auth_failed:
        discard_connection(conn)
    collector.last_run_at = now
    collector.last_error = "\n".join(errors)[:4000]
    if not errors:
        collector.last_success_at = now
    interval = audit_setting(tenant, "audit_interval_minutes", DEFAULT_INTERVAL_MINUTES)
    collector.next_run_at = now + timedelta(minutes=interval)
    collector.save()
    logger.info("audit pass", extra={"tenant_slug": tenant.slug, **result.as_dict()})
    return result
