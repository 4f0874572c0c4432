"""Collection pass: stream a tenant's Azure estate and write only what changed.

One pass = subscriptions -> Resource Graph pages (sorted by id) -> normalise -> compare
hashes with the stored ones -> one transaction per page with bulk writes of the
Configuration rows and their ConfigurationHistory. Resources missing from the pass are
tombstoned only when every page of their subscription was read; any failure makes the
pass ``partial`` and tombstones nothing. Runs with the connection in the tenant schema.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from configurations import collection
from configurations.locks import TenantPassLock
from configurations.models import Configuration, ConfigurationHistory, PollRun
from configurations.normalize import InvalidResourceError, normalize_and_hash
from driftdetector.azure import clients as azure_clients
from driftdetector.azure.endpoints import endpoints_from_settings
from driftdetector.azure.errors import AzureAccessError, AzureAuthError
from driftdetector.azure.limiter import RedisLimiter
from driftdetector.azure.resourcegraph import ResourcePage, iter_resource_pages, list_subscriptions
from tenants.models import Tenant, TenantStatus
from tenants.selectors import current_settings

logger = logging.getLogger(__name__)

UNKNOWN_CALLER = "unknown"
CALLER_LOOKBACK = timedelta(days=1)
CALLER_WINDOW_SLACK = timedelta(minutes=10)


class CollectionConfigError(RuntimeError):
    """The tenant cannot be polled as configured (no credential, ...)."""


@dataclass(frozen=True)
class PassOptions:
    """How a pass runs; the defaults are production's."""

    trigger: str = "schedule"
    hash_short_circuit: bool = True
    page_size: int | None = None
    progress: Callable[[PollRun, int], None] | None = None


def open_connection(tenant: Tenant) -> azure_clients.AzureConnection:
    """An Azure connection for the tenant through its app registration (no call made yet)."""
    credential = tenant.azure_credential
    if credential is None:
        raise CollectionConfigError(
            f"tenant {tenant.slug} has no Azure credential; choose one on the tenant in the admin"
        )
    limiter = (
        RedisLimiter.from_url(settings.CACHES["default"]["LOCATION"])
        if settings.AZURE_SHARED_LIMITER
        else None
    )
    return azure_clients.connect(
        tenant.azure_tenant_id,
        credential.client_id,
        endpoints_from_settings(),
        client_secret=credential.client_secret or None,
        certificate_pem=credential.certificate_pem or None,
        limiter=limiter,
        options=azure_clients.ClientOptions(
            retry_total=settings.AZURE_RETRY_TOTAL,
            retry_backoff_factor=settings.AZURE_RETRY_BACKOFF,
            read_timeout=settings.AZURE_READ_TIMEOUT,
            max_throttle_wait=settings.AZURE_MAX_THROTTLE_WAIT,
        ),
    )


def mark_abandoned_runs() -> int:
    """Fail passes left ``running`` by a worker that died (called while holding the lock)."""
    return PollRun.objects.filter(status=PollRun.Status.RUNNING).update(
        status=PollRun.Status.FAILED,
        finished_at=timezone.now(),
        error="the worker stopped before finishing this pass (found by the next pass)",
    )


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


def _naive_differs(stored_configs: dict[int, dict[str, Any]]) -> Callable[..., bool]:
    from deepdiff import DeepDiff

    def differs(stored: collection.Stored, item: collection.Observed) -> bool:
        return bool(DeepDiff(stored_configs[stored.pk], item.config, ignore_order=False))

    return differs


def _write_page(
    run: PollRun,
    page: ResourcePage,
    callers: _CallerLookup,
    now: datetime,
    options: PassOptions,
) -> int:
    """Normalise and store one page in one transaction; return the count of rejected rows."""
    observed: dict[str, collection.Observed] = {}
    rejected = 0
    for row in page.rows:
        try:
            normalized, digest = normalize_and_hash(row)
        except InvalidResourceError as exc:
            rejected += 1
            logger.warning("skipping malformed resource: %s", exc)
            continue
        item = collection.observe(row, normalized, digest)
        observed[item.resource_id] = item
    stored = {
        rid: collection.Stored(pk=pk, config_hash=digest, deleted=deleted_at is not None)
        for rid, pk, digest, deleted_at in Configuration.objects.filter(
            resource_id__in=list(observed)
        ).values_list("resource_id", "pk", "config_hash", "deleted_at")
    }
    differs = None
    if not options.hash_short_circuit:
        configs = dict(
            Configuration.objects.filter(pk__in=[s.pk for s in stored.values()]).values_list(
                "pk", "config_data"
            )
        )
        differs = _naive_differs(configs)
    plan = collection.plan_page(observed.values(), stored, differs=differs)

    with transaction.atomic():
        changed_pairs = plan.updated + plan.restored
        previous_configs = dict(
            Configuration.objects.filter(pk__in=[s.pk for s, _ in changed_pairs]).values_list(
                "pk", "config_data"
            )
        )
        created_rows = Configuration.objects.bulk_create(
            [
                Configuration(
                    resource_id=item.resource_id,
                    resource_type=item.resource_type,
                    resource_name=item.resource_name,
                    subscription_id=item.subscription_id,
                    resource_group=item.resource_group,
                    location=item.location,
                    config_data=item.config,
                    config_hash=item.config_hash,
                    first_seen=now,
                    last_seen=now,
                    last_seen_run=run,
                    last_updated=now,
                )
                for item in plan.created
            ]
        )
        Configuration.objects.bulk_update(
            [
                Configuration(
                    pk=stored_row.pk,
                    resource_type=item.resource_type,
                    resource_name=item.resource_name,
                    subscription_id=item.subscription_id,
                    resource_group=item.resource_group,
                    location=item.location,
                    config_data=item.config,
                    config_hash=item.config_hash,
                    last_seen=now,
                    last_seen_run=run,
                    last_updated=now,
                    deleted_at=None,
                )
                for stored_row, item in changed_pairs
            ],
            [
                "resource_type",
                "resource_name",
                "subscription_id",
                "resource_group",
                "location",
                "config_data",
                "config_hash",
                "last_seen",
                "last_seen_run",
                "last_updated",
                "deleted_at",
            ],
            batch_size=500,
        )
        if plan.unchanged:
            Configuration.objects.filter(pk__in=[s.pk for s in plan.unchanged]).update(
                last_seen=now, last_seen_run=run
            )
        history = [
            ConfigurationHistory(
                configuration_id=row.pk,
                previous_config=None,
                new_config=item.config,
                changed_at=now,
                change_type=ConfigurationHistory.ChangeType.CREATED,
                changed_by=callers.caller(item.subscription_id, item.resource_id),
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
                    poll_run=run,
                )
                for stored_row, item in pairs
            )
        ConfigurationHistory.objects.bulk_create(history, batch_size=500)
        PollRun.objects.filter(pk=run.pk).update(
            pages=F("pages") + 1,
            seen=F("seen") + len(observed),
            created=F("created") + len(plan.created),
            updated=F("updated") + len(plan.updated),
            restored=F("restored") + len(plan.restored),
            unchanged=F("unchanged") + len(plan.unchanged),
            heartbeat_at=timezone.now(),
        )
    return rejected


def _tombstone_missing(run: PollRun, subscriptions: list[str], now: datetime) -> int:
    """Mark resources of fully listed subscriptions not seen in ``run`` as deleted."""
    total = 0
    missing = Configuration.objects.filter(
        subscription_id__in=subscriptions, deleted_at__isnull=True
    ).exclude(last_seen_run=run)
    while True:
        with transaction.atomic():
            batch = list(missing.values_list("pk", "config_data")[:1000])
            if not batch:
                return total
            ConfigurationHistory.objects.bulk_create(
                [
                    ConfigurationHistory(
                        configuration_id=pk,
                        previous_config=config,
                        new_config=None,
                        changed_at=now,
                        change_type=ConfigurationHistory.ChangeType.DELETED,
                        changed_by=UNKNOWN_CALLER,
                        poll_run=run,
                    )
                    for pk, config in batch
                ]
            )
            Configuration.objects.filter(pk__in=[pk for pk, _ in batch]).update(
                deleted_at=now, last_updated=now
            )
            PollRun.objects.filter(pk=run.pk).update(deleted=F("deleted") + len(batch))
            total += len(batch)


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
        complete: list[str] = []
        subscriptions: list[str] = []
        conn = None
        rejected = 0
        try:
            conn = open_connection(tenant)
            subscriptions = [s.lower() for s in polling.get("subscriptions") or []] or [
                s.subscription_id.lower() for s in list_subscriptions(conn)
            ]
            last_ok = (
                PollRun.objects.filter(status=PollRun.Status.SUCCEEDED)
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
            for page in iter_resource_pages(conn, subscriptions, page_size=page_size):
                rejected += _write_page(run, page, callers, started, options)
                if page.batch_complete:
                    complete.extend(page.subscriptions)
                lock.extend()
                if options.progress:
                    run.refresh_from_db()
                    options.progress(run, page.total_records)
            if rejected:
                raise _RejectedRows(f"{rejected} malformed resource(s) skipped")
            status, error = PollRun.Status.SUCCEEDED, ""
            tombstone_scope = complete + ([""] if set(complete) >= set(subscriptions) else [])
            _tombstone_missing(run, tombstone_scope, timezone.now())
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
            if conn is not None:
                conn.close()
        run.refresh_from_db()
        run.status = status
        run.error = error
        run.finished_at = timezone.now()
        run.duration_seconds = round(time.monotonic() - clock, 3)
        run.azure_calls = stats.get("calls", 0)
        run.throttle_waits = stats.get("throttle_waits", 0)
        run.throttle_wait_seconds = stats.get("throttle_wait_seconds", 0.0)
        run.subscriptions_complete = sorted(set(complete))
        run.subscriptions_incomplete = sorted(set(subscriptions) - set(complete))
        run.save()
        _record_status(tenant, run)
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


class _RejectedRows(RuntimeError):
    """Some rows of the pass could not be normalised; the pass is partial."""
