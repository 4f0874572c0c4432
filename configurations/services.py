"""Collection pass: stream a tenant's Azure estate and write only what changed.

One pass = subscriptions (with their states) -> one Resource Graph query per table
(resources, resourcecontainers, authorizationresources, policyresources; each sorted by id
and paged) -> normalise -> compare hashes with the stored ones -> one transaction per page
with bulk writes of the Configuration rows and their ConfigurationHistory. A resource
missing from the pass is tombstoned only when its table's query completed for its
subscription and that subscription is Enabled, Warned or PastDue (Disabled ones are read
but prove nothing by absence; Deleted ones are not read). A failed query makes the pass
``partial`` and tombstones nothing of its table. Runs with the connection in the tenant
schema.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from configurations import collection
from configurations.locks import TenantPassLock
from configurations.models import Configuration, ConfigurationHistory, PollRun
from configurations.normalize import InvalidResourceError, normalize_and_hash, rules_fingerprint
from driftdetector import metrics
from driftdetector.azure import clients as azure_clients
from driftdetector.azure.endpoints import endpoints_from_settings
from driftdetector.azure.errors import AzureAccessError, AzureAuthError
from driftdetector.azure.kqlquery import COLLECTION_QUERIES
from driftdetector.azure.limiter import RedisLimiter
from driftdetector.azure.resourcegraph import (
    QueryFailure,
    ResourcePage,
    SubscriptionInfo,
    iter_resource_pages,
    list_subscriptions,
)
from tenants.models import ChangeWatch, Tenant, TenantStatus
from tenants.selectors import current_settings

logger = logging.getLogger(__name__)

UNKNOWN_CALLER = "unknown"
# PollRun.trigger of the change watch's runs (full passes: schedule, onboarding, manual, ...).
WATCH_TRIGGER = "watch"
CALLER_LOOKBACK = timedelta(days=1)
CALLER_WINDOW_SLACK = timedelta(minutes=10)


class CollectionConfigError(RuntimeError):
    """The tenant cannot be polled as configured (no credential, ...)."""


class _RejectedRows(RuntimeError):
    """Some rows of the pass could not be normalised; the pass is partial."""


@dataclass(frozen=True)
class PassOptions:
    """How a pass runs; the defaults are production's."""

    trigger: str = "schedule"
    hash_short_circuit: bool = True
    page_size: int | None = None
    progress: Callable[[PollRun, int], None] | None = None


_CONNECTIONS: OrderedDict[tuple[Any, ...], azure_clients.AzureConnection] = OrderedDict()
MAX_CACHED_CONNECTIONS = 256


def open_connection(tenant: Tenant) -> azure_clients.AzureConnection:
    """The tenant's Azure connection through its app registration, reused across passes.

    A worker process keeps up to MAX_CACHED_CONNECTIONS connections, so each pass reuses
    the access token (valid for an hour) and the HTTPS sessions instead of signing in and
    handshaking again; a changed credential or setting makes a new one. Counters restart.
    """
    credential = tenant.azure_credential
    if credential is None:
        raise CollectionConfigError(
            f"tenant {tenant.slug} has no Azure credential; choose one on the tenant in the admin"
        )
    endpoints = endpoints_from_settings()
    options = azure_clients.ClientOptions(
        retry_total=settings.AZURE_RETRY_TOTAL,
        retry_backoff_factor=settings.AZURE_RETRY_BACKOFF,
        read_timeout=settings.AZURE_READ_TIMEOUT,
        max_throttle_wait=settings.AZURE_MAX_THROTTLE_WAIT,
    )
    key = (
        tenant.azure_tenant_id,
        credential.pk,
        credential.updated_at,
        endpoints,
        options,
        settings.AZURE_SHARED_LIMITER,
    )
    conn = _CONNECTIONS.pop(key, None)
    if conn is None:
        limiter = (
            RedisLimiter.from_url(settings.CACHES["default"]["LOCATION"])
            if settings.AZURE_SHARED_LIMITER
            else None
        )
        conn = azure_clients.connect(
            tenant.azure_tenant_id,
            credential.client_id,
            endpoints,
            client_secret=credential.client_secret or None,
            certificate_pem=credential.certificate_pem or None,
            limiter=limiter,
            options=options,
        )
    conn.stats.reset()
    _CONNECTIONS[key] = conn
    while len(_CONNECTIONS) > MAX_CACHED_CONNECTIONS:
        _CONNECTIONS.popitem(last=False)[1].close()
    return conn


def discard_connection(conn: azure_clients.AzureConnection) -> None:
    """Forget and close a connection that failed (bad credential, broken session)."""
    for key, cached in list(_CONNECTIONS.items()):
        if cached is conn:
            del _CONNECTIONS[key]
    conn.close()


def mark_abandoned_runs() -> int:
    """Fail passes left ``running`` by a worker that died (called while holding the lock)."""
    return PollRun.objects.filter(status=PollRun.Status.RUNNING).update(
        status=PollRun.Status.FAILED,
        finished_at=timezone.now(),
        error="the worker stopped before finishing this pass (found by the next pass)",
    )


class Attribution(Protocol):
    """Who made the changes a pass writes: the history row's caller and client."""

    def caller(self, subscription_id: str, resource_id: str) -> str:
        """The Azure caller of the change, or UNKNOWN_CALLER."""

    def client(self, resource_id: str) -> str:
        """The client Azure names for the change, or ""."""


class _CallerLookup:
    """Activity Log callers per subscription, fetched once per pass and only when needed."""

    def __init__(self, conn: azure_clients.AzureConnection, since: datetime, until: datetime):
        self.conn, self.since, self.until = conn, since, until
        self._by_subscription: dict[str, dict[str, str]] = {}

    def caller(self, subscription_id: str, resource_id: str) -> str:
        if not subscription_id:
            return UNKNOWN_CALLER
        if subscription_id not in self._by_subscription:
            from driftdetector.azure.activitylog import activity_log_callers

            try:
                self._by_subscription[subscription_id] = activity_log_callers(
                    self.conn, subscription_id, self.since, self.until
                )
            except AzureAccessError as exc:
                logger.warning("activity log unavailable: %s", exc)
                self._by_subscription[subscription_id] = {}
        return self._by_subscription[subscription_id].get(resource_id, UNKNOWN_CALLER)

    def client(self, resource_id: str) -> str:
        """The Activity Log does not name the client."""
        return ""


def _naive_differs(stored_configs: dict[int, dict[str, Any]]) -> Callable[..., bool]:
    from deepdiff import DeepDiff

    def differs(stored: collection.Stored, item: collection.Observed) -> bool:
        return bool(DeepDiff(stored_configs[stored.pk], item.config, ignore_order=False))

    return differs


def source_hash(row: dict[str, Any]) -> str:
    """sha256 of a raw Resource Graph row (key-sorted) salted with the normalisation rules.

    Equal source hashes mean the normalised config is equal too, so the pass can skip
    normalising; the rules fingerprint makes a rules change re-normalise everything once.
    """
    digest = hashlib.sha256(rules_fingerprint().encode())
    digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


@dataclass
class PassState:
    """What a pass accumulates across pages: ids of the resources it saw, rejected rows."""

    seen: set[int] = field(default_factory=set)
    rejected: int = 0


def _raw_rows_by_id(rows: list[Any], state: PassState) -> dict[str, tuple[dict[str, Any], str]]:
    """A page's raw rows by lower-cased id, each with its source hash; id-less rows rejected."""
    by_id: dict[str, tuple[dict[str, Any], str]] = {}
    for row in rows:
        resource_id = str(row.get("id") or "").lower() if isinstance(row, dict) else ""
        if not resource_id:
            state.rejected += 1
            logger.warning("skipping a row without an id: %.200s", row)
            continue
        by_id[resource_id] = (row, source_hash(row))
    return by_id


def _stored_state(resource_ids: list[str]) -> list[tuple[str, int, str, str, Any]]:
    """(resource_id, pk, config_hash, source_hash, deleted_at) of the given ids, one query.

    One array parameter instead of an ORM ``__in`` lookup, which spent more time
    preparing 1,000 parameters than PostgreSQL spent answering.
    """
    table = connection.ops.quote_name(Configuration._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT resource_id, id, config_hash, source_hash, deleted_at FROM {table} "  # noqa: S608
            "WHERE resource_id = ANY(%s)",
            [resource_ids],
        )
        return cursor.fetchall()


def write_page(
    run: PollRun,
    page: ResourcePage,
    callers: Attribution,
    now: datetime,
    options: PassOptions,
    state: PassState,
) -> None:
    """Store one page in one transaction: only new, changed or restored resources are written.

    A row whose raw source hash equals the stored one is unchanged without being
    normalised (the hash short-circuit); the others are normalised and their config hash
    compared. In naive mode (short-circuit off) every stored config is diffed with deepdiff.
    """
    raw = _raw_rows_by_id(page.rows, state)
    stored: dict[str, collection.Stored] = {}
    unchanged_raw: set[str] = set()
    for resource_id, pk, digest, src, deleted_at in _stored_state(list(raw)):
        if options.hash_short_circuit and deleted_at is None and src == raw[resource_id][1]:
            unchanged_raw.add(resource_id)
            state.seen.add(pk)
        else:
            stored[resource_id] = collection.Stored(pk, digest, deleted_at is not None, src)

    observed: list[collection.Observed] = []
    for resource_id, (row, src) in raw.items():
        if resource_id in unchanged_raw:
            continue
        try:
            normalized, digest = normalize_and_hash(row)
        except InvalidResourceError as exc:
            state.rejected += 1
            logger.warning("skipping malformed resource: %s", exc)
            continue
        observed.append(collection.observe(row, normalized, digest, src))

    differs = None
    if not options.hash_short_circuit:
        configs = dict(
            Configuration.objects.filter(pk__in=[e.pk for e in stored.values()]).values_list(
                "pk", "config_data"
            )
        )
        differs = _naive_differs(configs)
    plan = collection.plan_page(observed, stored, differs=differs)
    state.seen.update(entry.pk for entry, _ in plan.unchanged + plan.updated + plan.restored)
    with transaction.atomic():
        created = _store_plan(run, plan, callers, now)
        state.seen.update(created)
        PollRun.objects.filter(pk=run.pk).update(
            pages=F("pages") + 1,
            seen=F("seen") + len(unchanged_raw) + len(observed),
            created=F("created") + len(plan.created),
            updated=F("updated") + len(plan.updated),
            restored=F("restored") + len(plan.restored),
            unchanged=F("unchanged") + len(unchanged_raw) + len(plan.unchanged),
            heartbeat_at=timezone.now(),
        )


CURRENT_FIELDS = (
    "resource_type",
    "resource_name",
    "subscription_id",
    "resource_group",
    "location",
    "config_data",
    "config_hash",
    "source_hash",
    "last_updated",
)


def _current_fields(item: collection.Observed, now: datetime) -> dict[str, Any]:
    """The columns a pass writes for a resource it saw created, changed or restored."""
    return {
        "resource_type": item.resource_type,
        "resource_name": item.resource_name,
        "subscription_id": item.subscription_id,
        "resource_group": item.resource_group,
        "location": item.location,
        "config_data": item.config,
        "config_hash": item.config_hash,
        "source_hash": item.source_hash,
        "last_updated": now,
    }


def _store_plan(
    run: PollRun, plan: collection.PagePlan, callers: Attribution, now: datetime
) -> list[int]:
    """Bulk-write a page's plan (rows and history); returns the ids of created rows."""
    changed_pairs = plan.updated + plan.restored
    previous_configs = dict(
        Configuration.objects.filter(pk__in=[s.pk for s, _ in changed_pairs]).values_list(
            "pk", "config_data"
        )
    )
    created_rows = Configuration.objects.bulk_create(
        [
            Configuration(
                resource_id=item.resource_id, first_seen=now, **_current_fields(item, now)
            )
            for item in plan.created
        ]
    )
    Configuration.objects.bulk_update(
        [
            Configuration(pk=stored_row.pk, deleted_at=None, **_current_fields(item, now))
            for stored_row, item in changed_pairs
        ],
        [*CURRENT_FIELDS, "deleted_at"],
        batch_size=500,
    )
    # Same config, new raw form (an etag moved): remember the raw hash for next time.
    Configuration.objects.bulk_update(
        [
            Configuration(pk=entry.pk, source_hash=item.source_hash)
            for entry, item in plan.unchanged
            if entry.source_hash != item.source_hash
        ],
        ["source_hash"],
        batch_size=500,
    )
    history = [
        ConfigurationHistory(
            configuration_id=row.pk,
            previous_config=None,
            new_config=item.config,
            changed_at=now,
            change_type=ConfigurationHistory.ChangeType.CREATED,
            changed_by=callers.caller(item.subscription_id, item.resource_id),
            client_type=callers.client(item.resource_id),
            poll_run=run,
        )
        for row, item in zip(created_rows, plan.created, strict=True)
    ]
    for change_type, pairs in (
        (ConfigurationHistory.ChangeType.UPDATED, plan.updated),
        (ConfigurationHistory.ChangeType.RESTORED, plan.restored),
    ):
        history.extend(
            ConfigurationHistory(
                configuration_id=stored_row.pk,
                previous_config=previous_configs.get(stored_row.pk),
                new_config=item.config,
                changed_at=now,
                change_type=change_type,
                changed_by=callers.caller(item.subscription_id, item.resource_id),
                client_type=callers.client(item.resource_id),
                poll_run=run,
            )
            for stored_row, item in pairs
        )
    ConfigurationHistory.objects.bulk_create(history, batch_size=500)
    return [row.pk for row in created_rows]


# Subscription states (ARM SubscriptionState) in which a resource missing from Resource
# Graph was really deleted. Disabled subscriptions can still be read but their resources
# are deallocated or read-only; Deleted ones answer nothing. Absence there proves nothing.
TOMBSTONE_STATES = frozenset({"enabled", "warned", "pastdue"})
# States whose subscriptions are not queried at all: no operation is available on them.
UNREADABLE_STATES = frozenset({"deleted"})


@dataclass
class _Scope:
    """Which subscriptions a pass reads and which of them may have resources tombstoned."""

    states: dict[str, str]
    queried: list[str]
    tombstonable: set[str]


def _scope(listed: list[SubscriptionInfo], chosen: list[str]) -> _Scope:
    """Decide from the subscriptions' states what the pass reads and may tombstone.

    ``chosen`` (the tenant's polling_settings.subscriptions) narrows the listing; a chosen
    subscription missing from the listing is read but never tombstoned ("Unknown").
    """
    states = {info.subscription_id.lower(): info.state or "Unknown" for info in listed}
    wanted = [s.lower() for s in chosen] or sorted(states)
    for sub in wanted:
        states.setdefault(sub, "Unknown")
    queried = [s for s in wanted if states[s].lower() not in UNREADABLE_STATES]
    tombstonable = {s for s in queried if states[s].lower() in TOMBSTONE_STATES}
    return _Scope({s: states[s] for s in wanted}, queried, tombstonable)


def _tombstone_scope(
    complete: dict[str, set[str]], scope: _Scope, tainted: set[str]
) -> dict[str, set[str]]:
    """Per table, the subscriptions where a missing resource may be tombstoned.

    Only where that table's query completed, for subscriptions in a state where absence
    means deletion, and never for a table with rows the pass could not read (one of them
    may be the resource that looks missing). Tenant-level rows ("") only when the table was
    complete for every subscription read.
    """
    result: dict[str, set[str]] = {}
    for table, done in complete.items():
        if table in tainted:
            continue
        allowed = done & scope.tombstonable
        if done >= set(scope.queried) and scope.tombstonable == set(scope.queried):
            allowed.add("")
        result[table] = allowed
    return result


def _tombstone_missing(
    run: PollRun, scope: dict[str, set[str]], seen: set[int], now: datetime
) -> int:
    """Tombstone present resources this pass did not see, where it may conclude they are gone.

    ``scope`` maps a table to the subscriptions whose query of that table completed (""
    stands for tenant-level rows): a table listed completely says nothing about the rows
    of another table, and a type no collection query returns is never tombstoned. One
    scan of the present rows serves every table.
    """
    table_of: dict[str, str | None] = {}

    def covering(resource_type: str) -> str | None:
        if resource_type not in table_of:
            table_of[resource_type] = next(
                (q.table for q in COLLECTION_QUERIES if q.covers(resource_type)), None
            )
        return table_of[resource_type]

    subscriptions = set().union(*scope.values()) if scope else set()
    candidates = Configuration.objects.filter(
        subscription_id__in=subscriptions, deleted_at__isnull=True
    ).values_list("pk", "subscription_id", "resource_type")
    missing = [
        pk
        for pk, subscription, resource_type in candidates.iterator(chunk_size=5000)
        if pk not in seen and subscription in scope.get(covering(resource_type) or "", ())
    ]
    tombstone(run, [(pk, UNKNOWN_CALLER, "") for pk in missing], now)
    return len(missing)


def tombstone(run: PollRun, rows: list[tuple[int, str, str]], now: datetime) -> int:
    """Mark (pk, caller, client) rows deleted with a history row each, 1,000 per transaction."""
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        attribution = {pk: (caller, client) for pk, caller, client in batch}
        with transaction.atomic():
            configs = Configuration.objects.filter(pk__in=list(attribution)).values_list(
                "pk", "config_data"
            )
            ConfigurationHistory.objects.bulk_create(
                [
                    ConfigurationHistory(
                        configuration_id=pk,
                        previous_config=config,
                        new_config=None,
                        changed_at=now,
                        change_type=ConfigurationHistory.ChangeType.DELETED,
                        changed_by=attribution[pk][0],
                        client_type=attribution[pk][1],
                        poll_run=run,
                    )
                    for pk, config in configs
                ]
            )
            Configuration.objects.filter(pk__in=list(attribution)).update(
                deleted_at=now, last_updated=now
            )
            PollRun.objects.filter(pk=run.pk).update(deleted=F("deleted") + len(batch))
    return len(rows)


def _fill_late_callers(conn: azure_clients.AzureConnection) -> None:
    """Name the authors of earlier changes whose Activity Log events arrived since."""
    from configurations.late_callers import fill_late_callers

    try:
        fill_late_callers(conn=conn, now=timezone.now())
    except Exception:  # attribution is best effort; the pass itself succeeded
        logger.exception("filling late callers failed")


def _advance_watch(tenant: Tenant, started: datetime) -> None:
    """A complete pass has stored every change made before it started: the change watch
    need not look further back than that (its overlap still re-reads late arrivals)."""
    ChangeWatch.objects.filter(tenant=tenant, watermark__lt=started).update(watermark=started)


def _record_status(tenant: Tenant, run: PollRun) -> None:
    status, _ = TenantStatus.objects.get_or_create(tenant=tenant)
    status.last_poll_at = run.finished_at
    status.last_poll_status = run.status
    status.last_poll_error = run.error
    if run.status == PollRun.Status.SUCCEEDED:
        status.last_successful_poll_at = run.finished_at
        status.consecutive_failures = 0
    else:
        status.consecutive_failures += 1
    status.resource_count = Configuration.objects.filter(deleted_at__isnull=True).count()
    status.save()


def run_collection_pass(tenant: Tenant, options: PassOptions | None = None) -> PollRun:
    """Run one collection pass of ``tenant`` (connection already in its schema).

    Raises PassAlreadyRunning if another pass holds the tenant's lock; every other
    failure is recorded on the PollRun (``failed`` or ``partial``) and returned.
    """
    options = options or PassOptions()
    if connection.schema_name != tenant.schema_name:
        raise RuntimeError(f"connection is in {connection.schema_name}, not {tenant.schema_name}")
    with TenantPassLock(tenant.schema_name) as lock:
        mark_abandoned_runs()
        started = timezone.now()
        clock = time.monotonic()
        run = PollRun.objects.create(
            started_at=started, heartbeat_at=started, trigger=options.trigger
        )
        version = current_settings(tenant)
        polling = version.polling_settings if version else {}
        page_size = options.page_size or int(polling.get("page_size", 1000))
        complete: dict[str, set[str]] = {q.table: set() for q in COLLECTION_QUERIES}
        failures: list[QueryFailure] = []
        subscriptions: list[str] = []
        scope = _Scope({}, [], set())
        conn = None
        state = PassState()
        status, error = PollRun.Status.FAILED, "the pass was interrupted"
        try:
            conn = open_connection(tenant)
            scope = _scope(list_subscriptions(conn), list(polling.get("subscriptions") or []))
            subscriptions = scope.queried
            last_ok = (
                PollRun.objects.filter(status=PollRun.Status.SUCCEEDED)
                .exclude(trigger=WATCH_TRIGGER)
                .order_by("-started_at")
                .values_list("started_at", flat=True)
                .first()
            )
            # The window closes after the pass: a change made while it reads is attributed too,
            # and the Activity Log filter has whole-second precision.
            callers = _CallerLookup(
                conn,
                (last_ok or started - CALLER_LOOKBACK) - timedelta(seconds=1),
                started + CALLER_WINDOW_SLACK,
            )
            pages = iter_resource_pages(
                conn, subscriptions, page_size=page_size, on_failure=failures.append
            )
            tainted: set[str] = set()
            for page in pages:
                rejected_before = state.rejected
                write_page(run, page, callers, started, options, state)
                if state.rejected > rejected_before:
                    tainted.add(page.table)
                if page.batch_complete:
                    complete[page.table].update(page.subscriptions)
                lock.extend()
                if options.progress:
                    run.refresh_from_db()
                    options.progress(run, page.total_records)
            _tombstone_missing(
                run, _tombstone_scope(complete, scope, tainted), state.seen, timezone.now()
            )
            if failures:
                raise failures[0].error
            if state.rejected:
                raise _RejectedRows(f"{state.rejected} malformed resource(s) skipped")
            status, error = PollRun.Status.SUCCEEDED, ""
            _fill_late_callers(conn)
            _advance_watch(tenant, started)
        except (AzureAccessError, CollectionConfigError, _RejectedRows) as exc:
            run.refresh_from_db()
            fatal = isinstance(exc, AzureAuthError | CollectionConfigError) or not run.pages
            status = PollRun.Status.FAILED if fatal else PollRun.Status.PARTIAL
            error = str(exc)
        except Exception as exc:
            logger.exception("collection pass of %s crashed", tenant.slug)
            run.refresh_from_db()
            status = PollRun.Status.PARTIAL if run.pages else PollRun.Status.FAILED
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            stats = conn.stats.snapshot() if conn else {}
            if conn is not None and status != PollRun.Status.SUCCEEDED:
                discard_connection(conn)
        run.refresh_from_db()
        run.status = status
        run.error = error
        run.finished_at = timezone.now()
        run.duration_seconds = round(time.monotonic() - clock, 3)
        run.azure_calls = stats.get("calls", 0)
        run.throttle_waits = stats.get("throttle_waits", 0)
        run.throttle_wait_seconds = stats.get("throttle_wait_seconds", 0.0)
        everywhere = set.intersection(*complete.values()) if complete else set()
        run.subscriptions_complete = sorted(everywhere)
        run.subscriptions_incomplete = sorted(set(subscriptions) - everywhere)
        run.subscription_states = scope.states
        if failures and len(failures) > 1:
            run.error += "".join(f"; {f.error}" for f in failures[1:])
        run.save()
        _record_status(tenant, run)
    metrics.collection_pass(
        status=run.status,
        duration=run.duration_seconds,
        seen=run.seen,
        created=run.created,
        updated=run.updated,
        deleted=run.deleted,
        pages=run.pages,
    )
    logger.info(
        "collection pass %s: %s seen=%s created=%s updated=%s deleted=%s",
        run.pk,
        run.status,
        run.seen,
        run.created,
        run.updated,
        run.deleted,
    )
    return run
