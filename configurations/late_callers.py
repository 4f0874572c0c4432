"""Late callers: name the author of a change whose Activity Log event arrived after the pass.

Azure writes an Activity Log event seconds to minutes after the operation (its
``submissionTimestamp`` trails its ``eventTimestamp``), so a pass can see a change before
its event is queryable and records the caller as ``unknown``. This pass, run after each
collection pass, looks those rows up again: within a bounded window (and never beyond
the Activity Log's retention) it reads each affected subscription's Succeeded writes and
deletes once and fills the caller of every ``unknown`` row whose resource has one between
the previous recorded change and this one. Rows already named are never touched, so it
is idempotent. Runs with the connection in the tenant schema.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery

from configurations.models import ConfigurationHistory, PollRun
from driftdetector.azure.activitylog import RETENTION, ChangeEvent, iter_change_events
from driftdetector.azure.clients import AzureConnection
from driftdetector.azure.errors import AzureAccessError

logger = logging.getLogger(__name__)

UNKNOWN_CALLER = "unknown"
# How far before a change its event may lie when the resource has no earlier history.
FIRST_CHANGE_LOOKBACK = timedelta(days=1)
# A pass records ``changed_at`` = its start; it may read a change made shortly after.
AFTER_CHANGE_SLACK = timedelta(minutes=10)
MAX_ROWS = 5000


@dataclass(frozen=True)
class _Pending:
    pk: int
    resource_id: str
    subscription_id: str
    changed_at: datetime
    after: datetime
    until: datetime
    deleted: bool


def _window() -> timedelta:
    hours = settings.ACTIVITY_LATE_CALLER_WINDOW_HOURS
    return min(timedelta(hours=hours), RETENTION)


def _pending(now: datetime) -> list[_Pending]:
    """``unknown`` history rows inside the window, each with the span its event may lie in."""
    previous = (
        ConfigurationHistory.objects.filter(
            configuration=OuterRef("configuration"), changed_at__lt=OuterRef("changed_at")
        )
        .order_by("-changed_at")
        .values("changed_at")[:1]
    )
    # The first pass inventories what already existed: no event will ever name a caller.
    first_run = PollRun.objects.order_by("started_at").values_list("pk", flat=True).first()
    rows = (
        ConfigurationHistory.objects.filter(
            changed_by=UNKNOWN_CALLER, changed_at__gte=now - _window()
        )
        .exclude(configuration__subscription_id="")
        .exclude(poll_run_id=first_run, change_type=ConfigurationHistory.ChangeType.CREATED)
        .annotate(previous_at=Subquery(previous))
        .order_by("-changed_at")
        .values_list(
            "pk",
            "configuration__resource_id",
            "configuration__subscription_id",
            "changed_at",
            "previous_at",
            "change_type",
        )[:MAX_ROWS]
    )
    oldest = now - RETENTION
    return [
        _Pending(
            pk=pk,
            resource_id=resource_id.lower(),
            subscription_id=subscription_id.lower(),
            changed_at=changed_at,
            after=max(previous_at or changed_at - FIRST_CHANGE_LOOKBACK, oldest),
            until=changed_at + AFTER_CHANGE_SLACK,
            deleted=change_type == ConfigurationHistory.ChangeType.DELETED,
        )
        for pk, resource_id, subscription_id, changed_at, previous_at, change_type in rows
    ]


def _match(row: _Pending, events: list[ChangeEvent]) -> ChangeEvent | None:
    """The latest event of the row's kind (delete or write) on its resource in its span."""
    suffix = "/delete" if row.deleted else "/write"
    best = None
    for event in events:
        if (
            event.resource_id == row.resource_id
            and event.operation.endswith(suffix)
            and row.after < event.at <= row.until
            and (best is None or event.at > best.at)
        ):
            best = event
    return best


def _name_findings(caller: str, rows: list[_Pending]) -> None:
    """Drift findings first seen at or after a change that now has a caller, and still
    blaming ``unknown``, get that caller (detection copied it from the history row)."""
    from drift.models import DriftFinding

    for row in rows:
        DriftFinding.objects.filter(
            resource_id=row.resource_id,
            changed_by=UNKNOWN_CALLER,
            first_seen__gte=row.changed_at,
        ).update(changed_by=caller)


def fill_late_callers(*, conn: AzureConnection, now: datetime) -> int:
    """Fill ``unknown`` callers from Activity Log events that arrived late; returns rows filled.

    One Activity Log read per subscription with pending rows; a subscription whose log
    cannot be read is skipped (logged) and retried by the next run.
    """
    by_subscription: dict[str, list[_Pending]] = defaultdict(list)
    for row in _pending(now):
        by_subscription[row.subscription_id].append(row)
    filled = 0
    for subscription_id, rows in by_subscription.items():
        start = min(row.after for row in rows)
        end = min(max(row.until for row in rows), now)
        resources = {row.resource_id for row in rows}
        try:
            events = [
                event
                for event in iter_change_events(conn, subscription_id, start, end)
                if event.resource_id in resources
            ]
        except AzureAccessError as exc:
            logger.warning("late callers of %s not filled: %s", subscription_id, exc)
            continue
        by_caller: dict[str, list[_Pending]] = defaultdict(list)
        for row in rows:
            event = _match(row, events)
            if event is not None:
                by_caller[event.caller[:255]].append(row)
        for caller, matched in by_caller.items():
            filled += ConfigurationHistory.objects.filter(
                pk__in=[row.pk for row in matched], changed_by=UNKNOWN_CALLER
            ).update(changed_by=caller)
            _name_findings(caller, matched)
    if filled:
        logger.info("filled %s late caller(s)", filled)
    return filled
