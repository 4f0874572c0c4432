"""Change watch: follow Azure's change feed between full passes, seconds after a change.

Every ``watch_interval_seconds`` (polling settings, default 30, 0 = off) a tenant's watch
reads Resource Graph's ``resourcechanges`` from its watermark minus an overlap
(``WATCH_OVERLAP_SECONDS``; Azure ingests most changes within ~30 s, some later), drops
the changes it has already acted on (ResourceChange rows, by change id), then asks the
collection queries for just the changed ids (``where id in~ (...)``, batched) and writes
them through the same page code as a full pass (normalise -> hash compare -> store ->
history), with the change's ``changedBy`` / ``clientType`` as the history's caller.
``collection_finished`` then sends detection and notification as after a full pass.

Safety: it holds the tenant's pass lock (a full pass and a watch never run at once); it
never tombstones on absence, only a resource whose Delete change the resource query
confirms (absent). A changed resource that is absent without a Delete (the resource
table not caught up yet) is left for the next watch, and the watermark stays before it.
Any Azure failure (throttled, refused, malformed page) writes nothing and keeps the
watermark, so the next watch reads the same window again; a malformed change row is
named in the error and keeps the watermark too (the well-formed changes are applied).
The watermark moves in the same transaction as the rows it covers, and a complete full
pass moves it to its own start. Full passes stay the reconciliation.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from configurations.locks import PassAlreadyRunning, TenantPassLock
from configurations.models import Configuration, PollRun, ResourceChange
from configurations.services import (
    UNKNOWN_CALLER,
    WATCH_TRIGGER,
    PassOptions,
    PassState,
    discard_connection,
    open_connection,
    tombstone,
    write_page,
)
from driftdetector.azure.errors import AzureAccessError, AzureAuthError
from driftdetector.azure.kqlquery import COLLECTION_QUERIES, TableQuery
from driftdetector.azure.resourcechanges import ChangeRecord, read_changes, read_resources
from driftdetector.azure.resourcegraph import ResourcePage
from driftdetector.pipeline import publish
from tenants.models import ChangeWatch, Tenant
from tenants.models import Settings as TenantSettings

logger = logging.getLogger(__name__)

DEFAULT_WATCH_INTERVAL_SECONDS = 30
# Azure keeps changes 14 days; the watch never asks for more, nor keeps its ids longer.
RETENTION = timedelta(days=14)
# A tenant whose watch is off is looked at again this often (its setting may change).
OFF_RECHECK = timedelta(minutes=5)
UNREADABLE_STATES = frozenset({"deleted"})


@dataclass
class WatchOutcome:
    """What one watch of one tenant did (the task's return value)."""

    tenant: str
    status: str  # idle | applied | skipped | failed
    changes_read: int = 0
    new_changes: int = 0
    resources_read: int = 0
    poll_run: int | None = None
    queries: int = 0
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return asdict(self)


class _ChangeCallers:
    """Attribution from the change records: the newest change of each resource names it."""

    def __init__(self, latest: dict[str, ChangeRecord]) -> None:
        self.latest = latest

    def caller(self, subscription_id: str, resource_id: str) -> str:
        record = self.latest.get(resource_id)
        return (record.changed_by if record else "") or UNKNOWN_CALLER

    def client(self, resource_id: str) -> str:
        record = self.latest.get(resource_id)
        return record.client_type if record else ""


class _RejectedRows(RuntimeError):
    """A changed resource could not be normalised; the watch writes nothing."""


def watch_interval(polling_settings: dict[str, Any] | None) -> int:
    """Seconds between two watches of a tenant (0 = off) from its polling settings."""
    polling = polling_settings or {}
    if not polling.get("enabled", True):
        return 0
    return int(polling.get("watch_interval_seconds", DEFAULT_WATCH_INTERVAL_SECONDS))


def _covering(resource_type: str) -> TableQuery | None:
    """The collection query that returns resources of this type (None: not collected)."""
    if not resource_type:
        return COLLECTION_QUERIES[0]
    return next((q for q in COLLECTION_QUERIES if q.covers(resource_type)), None)


def _subscriptions(last_full: PollRun) -> list[str]:
    """The subscriptions the last full pass read (the watch lists none itself)."""
    states = last_full.subscription_states or {}
    return sorted(s for s, state in states.items() if str(state).lower() not in UNREADABLE_STATES)


def run_watch(tenant: Tenant) -> WatchOutcome:
    """One watch of ``tenant`` (connection already in its schema); skipped while a pass runs."""
    if connection.schema_name != tenant.schema_name:
        raise RuntimeError(f"connection is in {connection.schema_name}, not {tenant.schema_name}")
    try:
        with TenantPassLock(tenant.schema_name, kind="watch"):
            return _watch(tenant)
    except PassAlreadyRunning as exc:
        return WatchOutcome(tenant.slug, "skipped", detail=str(exc))


def _watch(tenant: Tenant) -> WatchOutcome:
    state, _ = ChangeWatch.objects.get_or_create(tenant=tenant)
    last_full = (
        PollRun.objects.filter(status=PollRun.Status.SUCCEEDED)
        .exclude(trigger=WATCH_TRIGGER)
        .order_by("-started_at")
        .first()
    )
    if last_full is None:
        return WatchOutcome(tenant.slug, "skipped", detail="no complete full pass yet")
    subscriptions = _subscriptions(last_full)
    if not subscriptions:
        return WatchOutcome(tenant.slug, "skipped", detail="no readable subscription")
    now = timezone.now()
    clock = time.monotonic()
    watermark = state.watermark or last_full.started_at
    overlap = timedelta(seconds=settings.WATCH_OVERLAP_SECONDS)
    since = max(watermark - overlap, now - RETENTION)
    outcome = WatchOutcome(tenant.slug, "idle")
    conn = None
    try:
        conn = open_connection(tenant)
        batch = read_changes(conn, subscriptions, since)
        records = batch.records
        outcome.changes_read = len(records)
        known = set(
            ResourceChange.objects.filter(change_id__in=[r.change_id for r in records]).values_list(
                "change_id", flat=True
            )
        )
        fresh = [r for r in records if r.change_id not in known]
        latest: dict[str, ChangeRecord] = {}
        for record in sorted(fresh, key=lambda r: r.timestamp):
            latest[record.resource_id] = record
        wanted: dict[TableQuery, list[str]] = {}
        for resource_id, record in latest.items():
            query = _covering(record.resource_type)
            if query is not None:
                wanted.setdefault(query, []).append(resource_id)
        pages: list[ResourcePage] = [
            page
            for query, ids in wanted.items()
            for page in read_resources(conn, subscriptions, query, ids)
        ]
        outcome.queries = conn.stats.snapshot().get("graph_calls", 0)
        outcome.new_changes = len(fresh)
        outcome.resources_read = sum(len(p.rows) for p in pages)
        hold = bool(batch.malformed)
        _apply(tenant, state, watermark, now, clock, fresh, latest, wanted, pages, outcome, hold)
        if batch.malformed:
            error = (
                f"{len(batch.malformed)} malformed change row(s) left for the next full pass: "
                + "; ".join(batch.malformed[:5])
            )
            ChangeWatch.objects.filter(pk=state.pk).update(last_error=error[:4000])
            outcome.detail = (outcome.detail + "; " if outcome.detail else "") + error
            logger.warning("change watch of %s: %s", tenant.slug, error)
    except (AzureAccessError, _RejectedRows) as exc:
        if conn is not None and isinstance(exc, AzureAuthError):
            discard_connection(conn)
        outcome.status, outcome.detail = "failed", str(exc)
        outcome.queries = conn.stats.snapshot().get("graph_calls", 0) if conn else 0
        ChangeWatch.objects.filter(pk=state.pk).update(
            last_run_at=now, last_error=str(exc)[:4000], queries=F("queries") + outcome.queries
        )
        logger.warning("change watch of %s failed: %s", tenant.slug, exc)
    return outcome


def _apply(
    tenant: Tenant,
    state: ChangeWatch,
    watermark: datetime,
    now: datetime,
    clock: float,
    fresh: list[ChangeRecord],
    latest: dict[str, ChangeRecord],
    wanted: dict[TableQuery, list[str]],
    pages: list[ResourcePage],
    outcome: WatchOutcome,
    hold: bool,
) -> None:
    """Write what the watch read and move the watermark (unless ``hold``), in one transaction."""
    present = {
        str(row.get("id") or "").lower()
        for page in pages
        for row in page.rows
        if isinstance(row, dict)
    }
    asked = {rid for ids in wanted.values() for rid in ids}
    deleted = [rid for rid in asked if rid not in present and latest[rid].change_type == "Delete"]
    pending = {rid for rid in asked if rid not in present and latest[rid].change_type != "Delete"}
    processed = [r for r in fresh if r.resource_id not in pending]
    newest = max((r.timestamp for r in fresh), default=watermark)
    if pending:  # not in the resource table yet: read those changes again next time
        newest = min(newest, min(latest[rid].timestamp for rid in pending))
    if hold:  # a row could not be read: its window is read again until a full pass
        newest = watermark
    callers = _ChangeCallers(latest)
    with transaction.atomic():
        run = None
        if pages or deleted:
            run = PollRun.objects.create(started_at=now, heartbeat_at=now, trigger=WATCH_TRIGGER)
            pass_state = PassState()
            for page in pages:
                write_page(run, page, callers, now, PassOptions(trigger=WATCH_TRIGGER), pass_state)
            if pass_state.rejected:
                raise _RejectedRows(
                    f"{pass_state.rejected} changed resource(s) could not be normalised; "
                    "nothing written, the next watch reads them again"
                )
            gone = list(
                Configuration.objects.filter(
                    resource_id__in=deleted, deleted_at__isnull=True
                ).values_list("pk", "resource_id")
            )
            tombstone(
                run, [(pk, callers.caller("", rid), callers.client(rid)) for pk, rid in gone], now
            )
            run.refresh_from_db()
            if run.created + run.updated + run.restored + run.deleted == 0:
                run.delete()
                run = None
            else:
                run.status = PollRun.Status.SUCCEEDED
                run.finished_at = timezone.now()
                run.duration_seconds = round(time.monotonic() - clock, 3)
                run.azure_calls = outcome.queries
                run.save()
        ResourceChange.objects.bulk_create(
            [
                ResourceChange(
                    change_id=r.change_id,
                    resource_id=r.resource_id,
                    change_type=r.change_type,
                    changed_at=r.timestamp,
                    changed_by=r.changed_by,
                    client_type=r.client_type,
                    operation=r.operation,
                    correlation_id=r.correlation_id,
                    poll_run=run,
                    received_at=now,
                )
                for r in processed
            ],
            ignore_conflicts=True,
            batch_size=500,
        )
        ResourceChange.objects.filter(changed_at__lt=now - RETENTION).delete()
        ChangeWatch.objects.filter(pk=state.pk).update(
            watermark=max(watermark, newest),
            last_run_at=now,
            last_success_at=now,
            last_error="",
            changes_applied=F("changes_applied") + len(processed),
            queries=F("queries") + outcome.queries,
        )
        if run is not None:
            outcome.status, outcome.poll_run = "applied", run.pk
            publish(
                "collection_finished",
                schema_name=tenant.schema_name,
                poll_run_id=run.pk,
                status=run.status,
            )
    if pending:
        outcome.detail = f"{len(pending)} changed resource(s) not in the resource table yet"


def due_watches(now: datetime | None = None) -> list[tuple[str, int]]:
    """(schema, interval seconds) of each active tenant whose watch is due, claimed.

    Runs in the public schema for the whole fleet in three queries: due rows are locked
    with SKIP LOCKED and their ``next_run_at`` pushed by the tenant's interval as they are
    claimed, so two sweeps never send one tenant twice and the watches of a fleet spread
    over the interval instead of firing together.
    """
    now = now or timezone.now()
    tenants = (
        Tenant.objects.filter(is_active=True, azure_credential__isnull=False)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .only("pk", "schema_name")
    )
    known = set(ChangeWatch.objects.values_list("tenant_id", flat=True))
    ChangeWatch.objects.bulk_create(
        [ChangeWatch(tenant_id=t.pk) for t in tenants if t.pk not in known],
        ignore_conflicts=True,
    )
    sent: list[tuple[str, int]] = []
    with transaction.atomic():
        due = list(
            ChangeWatch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(tenant__in=tenants)
            .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
            .select_related("tenant")
        )
        intervals = _intervals([w.tenant_id for w in due])
        for watch in due:
            interval = intervals.get(watch.tenant_id, DEFAULT_WATCH_INTERVAL_SECONDS)
            if interval > 0:
                sent.append((watch.tenant.schema_name, interval))
            watch.next_run_at = now + (timedelta(seconds=interval) if interval else OFF_RECHECK)
        ChangeWatch.objects.bulk_update(due, ["next_run_at"], batch_size=500)
    return sent


def _intervals(tenant_ids: list[int]) -> dict[int, int]:
    """Each tenant's watch interval from its settings version in force (one query)."""
    if not tenant_ids:
        return {}
    newest = (
        TenantSettings.objects.filter(tenant_id__in=tenant_ids)
        .order_by("tenant_id", "-last_updated", "-id")
        .distinct("tenant_id")
        .values_list("tenant_id", "polling_settings")
    )
    return {tenant_id: watch_interval(polling) for tenant_id, polling in newest}
