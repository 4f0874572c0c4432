"""Shipping the audit outbox to Elasticsearch (runs in the public schema).

A batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two forwarders never send
the same entries), sent with ``_bulk``, and only the entries the cluster acknowledged
(201, or 409 = already there) are deleted, in the same transaction that holds the claim.
A whole-request failure changes nothing: the backlog waits for the next run. Items the
cluster refused for good (a mapping error) are parked with the error; the rest ship.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from auditlog import elk
from auditlog.fleet.models import ForwarderState, OutboxEntry
from driftdetector import metrics

logger = logging.getLogger(__name__)

_SESSION: requests.Session | None = None


@dataclass
class BatchOutcome:
    """One batch: how many were claimed, shipped, already there, to retry, parked."""

    claimed: int = 0
    shipped: int = 0
    already_there: int = 0
    retry: int = 0
    parked: int = 0
    failed: str = ""


def target_from_settings() -> elk.ElkTarget | None:
    """The configured cluster, or None when ``ELK_URL`` is unset (forwarding off)."""
    if not settings.ELK_URL:
        return None
    return elk.ElkTarget(
        url=settings.ELK_URL,
        index=settings.ELK_INDEX,
        api_key=settings.ELK_API_KEY,
        username=settings.ELK_USERNAME,
        password=settings.ELK_PASSWORD,
        verify=settings.ELK_CA_BUNDLE or True,
        timeout=settings.ELK_TIMEOUT,
    )


def _session() -> requests.Session:
    global _SESSION
    if _SESSION is None:
        _SESSION = requests.Session()
    return _SESSION


def _state() -> ForwarderState:
    state, _ = ForwarderState.objects.get_or_create(pk=1)
    return state


def retry_delay(attempts: int) -> timedelta:
    """Back-off of an item the cluster asked to resend (429 / 5xx): 5 s doubling, max 5 min."""
    return timedelta(seconds=min(300, 5 * 2 ** max(0, attempts - 1)))


def forward_batch(*, target: elk.ElkTarget, limit: int) -> BatchOutcome:
    """Claim up to ``limit`` due entries, send them, settle each by the cluster's answer."""
    outcome = BatchOutcome()
    now = timezone.now()
    with transaction.atomic():
        entries = list(
            OutboxEntry.objects.select_for_update(skip_locked=True)
            .filter(state=OutboxEntry.State.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("id")
            .only("id", "doc_id", "document", "attempts", "created_at")[:limit]
        )
        outcome.claimed = len(entries)
        if not entries:
            return outcome
        try:
            results = elk.bulk_create(_session(), target, [(e.doc_id, e.document) for e in entries])
        except elk.BulkRequestError as exc:
            outcome.failed = str(exc)
            ForwarderState.objects.filter(pk=_state().pk).update(
                last_attempt_at=now, last_error=str(exc)[:2000], last_error_at=now
            )
            return outcome
        by_id = {e.doc_id: e for e in entries}
        done: list[int] = []
        oldest: datetime | None = None
        for result in results:
            entry = by_id[result.doc_id]
            if result.result in (elk.SHIPPED, elk.ALREADY_THERE):
                done.append(entry.pk)
                if result.result == elk.SHIPPED:
                    outcome.shipped += 1
                else:
                    outcome.already_there += 1
                oldest = min(filter(None, (oldest, entry.created_at)))
            elif result.result == elk.RETRY:
                outcome.retry += 1
                OutboxEntry.objects.filter(pk=entry.pk).update(
                    attempts=F("attempts") + 1,
                    next_attempt_at=now + retry_delay(entry.attempts + 1),
                    last_error=f"{result.status} {result.error}"[:2000],
                )
            else:
                outcome.parked += 1
                OutboxEntry.objects.filter(pk=entry.pk).update(
                    state=OutboxEntry.State.PARKED,
                    attempts=F("attempts") + 1,
                    last_error=f"{result.status} {result.error}"[:2000],
                )
                logger.warning(
                    "document parked", extra={"doc_id": result.doc_id, "error": result.error}
                )
        OutboxEntry.objects.filter(pk__in=done).delete()
        fields: dict[str, object] = {
            "last_attempt_at": now,
            "shipped_total": F("shipped_total") + outcome.shipped,
            "already_there_total": F("already_there_total") + outcome.already_there,
            "parked_total": F("parked_total") + outcome.parked,
        }
        if done:
            fields["last_shipped_at"] = now
            fields["lag_seconds"] = (now - oldest).total_seconds() if oldest else None
        if outcome.retry or outcome.parked:
            fields["last_error"] = next(
                f"{r.doc_id}: {r.status} {r.error}"
                for r in results
                if r.result in (elk.RETRY, elk.PARKED)
            )[:2000]
            fields["last_error_at"] = now
        ForwarderState.objects.filter(pk=_state().pk).update(**fields)
    return outcome


def forward_pending(*, budget_seconds: float = 20.0, limit: int | None = None) -> BatchOutcome:
    """Ship batches until the backlog is empty, a request fails, or the budget is spent."""
    target = target_from_settings()
    total = BatchOutcome()
    if target is None:
        return total
    size = limit or settings.ELK_BATCH_SIZE
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        batch = forward_batch(target=target, limit=size)
        metrics.forwarder_batch(
            failed=bool(batch.failed),
            shipped=batch.shipped,
            already_there=batch.already_there,
            retry=batch.retry,
            parked=batch.parked,
        )
        for name in ("claimed", "shipped", "already_there", "retry", "parked"):
            setattr(total, name, getattr(total, name) + getattr(batch, name))
        if batch.failed:
            total.failed = batch.failed
            break
        if batch.claimed < size or batch.shipped + batch.already_there == 0:
            break
    return total


def requeue_parked(*, ids: list[int] | None = None) -> int:
    """Put parked entries back in the queue (after the index mapping was fixed)."""
    rows = OutboxEntry.objects.filter(state=OutboxEntry.State.PARKED)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(state=OutboxEntry.State.PENDING, next_attempt_at=None)


def forwarder_summary() -> dict[str, object]:
    """Backlog, parked count, oldest waiting entry and the forwarder's last results."""
    state = _state()
    pending = OutboxEntry.objects.filter(state=OutboxEntry.State.PENDING)
    return {
        "enabled": bool(settings.ELK_URL),
        "backlog": pending.count(),
        "parked": OutboxEntry.objects.filter(state=OutboxEntry.State.PARKED).count(),
        "oldest_waiting": pending.aggregate(m=Min("created_at"))["m"],
        "last_shipped_at": state.last_shipped_at,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
        "shipped_total": state.shipped_total,
        "lag_seconds": state.lag_seconds,
    }
