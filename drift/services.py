"""Drift detection and the findings lifecycle (connection already in the tenant schema).

A detection pass compares the present configuration with the active baseline: sets of
(resource id, hash) first, deepdiff only for resources whose hash moved; each changed
value is classified by the tenant's rule set and becomes a finding. The same drift in a
later pass updates its finding (last_seen); a value back at its baseline resolves it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from configurations.models import Configuration
from configurations.normalize import InvalidResourceError, normalize_and_hash, rules_fingerprint
from drift import statements
from drift.choices import SEVERITIES
from drift.compare import Change, ResourceDrift, compare_resource
from drift.locks import TenantDetectionLock
from drift.models import (
    UNRESOLVED_STATUSES,
    Baseline,
    BaselineEntry,
    DriftException,
    DriftFinding,
    DriftReport,
)
from drift.selectors import detection_rules
from drift.severity import IGNORE
from drift.suppression import AcceptedDeviation, ExceptionMatcher, FlappingPolicy, glob_escape
from driftdetector import metrics
from tenants.models import FindingTrendPoint, Tenant, TenantStatus
from tenants.selectors import current_settings

logger = logging.getLogger(__name__)

UNRESOLVED = UNRESOLVED_STATUSES
BATCH = 500


def _batches(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def create_baseline(*, name: str, actor: str, scope_prefix: str = "") -> Baseline:
    """Make the current present configuration (optionally only ids under ``scope_prefix``,
    a subscription or resource group id) the active baseline.

    Present configs are in the current normalisation rules' form (a rules change
    re-normalises every row at the next collection), so entries carry the rules'
    fingerprint and detection does not re-normalise them."""
    now = timezone.now()
    fingerprint = rules_fingerprint()
    with transaction.atomic():
        Baseline.objects.filter(active=True).update(active=False)
        baseline = Baseline.objects.create(
            name=name, created_by=actor, scope=scope_prefix or "tenant"
        )
        present = Configuration.objects.filter(deleted_at__isnull=True)
        if scope_prefix:
            present = present.filter(resource_id__startswith=scope_prefix.lower())
        rows = present.values_list("resource_id", "resource_type", "config_data", "config_hash")
        for batch in _batches(list(rows.iterator(chunk_size=2000))):
            BaselineEntry.objects.bulk_create(
                BaselineEntry(
                    baseline=baseline,
                    resource_id=rid,
                    resource_type=rtype,
                    config=config,
                    config_hash=digest,
                    accepted_by=actor,
                    accepted_at=now,
                    normalized_with=fingerprint,
                )
                for rid, rtype, config, digest in batch
            )
    return baseline


class Found(NamedTuple):
    """What comparing a pass's resources gives: the drift per resource, who changed each
    last, the present hash each was compared at, the path activity of the compared
    resources (``activity_of``: those whose activity ``activity`` holds), their
    unresolved findings (when asked for) and the latest report ids (None: no statement
    was sent)."""

    drifts: list[ResourceDrift]
    callers: dict[str, str]
    compared: dict[str, str | None]
    activity: dict[tuple[str, str], list[int]]
    activity_of: set[str]
    unresolved: dict[tuple[str, str], statements.Unresolved]
    latest_reports: list[int] | None


def find_drift(
    baseline_id: int, resource_ids: list[str], unresolved_fields: tuple[str, ...] | None = None
) -> Found:
    """Drift of ``resource_ids`` against the baseline (either side may be absent), with
    their unresolved findings' ``unresolved_fields`` when given.

    The approved and present configurations, their latest callers, path activity and
    unresolved findings come back in one statement per batch
    (:func:`drift.statements.comparison_inputs`). An approved config normalised under
    older normalisation rules is brought to the current form first (and stored so, once).
    """
    fingerprint = rules_fingerprint()
    found = Found([], {}, {}, {}, set(), {}, None)
    for batch in _batches(resource_ids, statements.BATCH):
        inputs = statements.comparison_inputs(baseline_id, batch, unresolved_fields)
        found.unresolved.update(inputs.unresolved or {})
        found = found._replace(latest_reports=inputs.latest_reports)
        refreshed: dict[str, tuple[dict[str, Any], str]] = {}
        for sides in inputs.sides:
            rid = sides.resource_id
            found.compared[rid] = None if sides.present is None else sides.present[1]
            found.activity_of.add(rid)
            found.activity.update(((rid, path), ids) for path, ids in sides.activity.items())
            before = sides.approved
            if (
                before is not None
                and sides.present is not None
                and sides.normalized_with != fingerprint
            ):
                before = _renormalised(before)
                refreshed[rid] = before
            drift = compare_resource(rid, sides.resource_type, before, sides.present)
            if drift is not None:
                found.drifts.append(drift)
                found.callers[rid] = sides.changed_by
        statements.refresh_entries(baseline_id, refreshed, fingerprint)
    return found


def _renormalised(approved: tuple[dict[str, Any], str]) -> tuple[dict[str, Any], str]:
    """An approved config in the form the current normalisation rules give it.

    When the rules change (a property found volatile, ``null`` and absent made equal),
    present configs are re-normalised by the next collection; approved ones are brought
    along here, so a rules change is never reported as drift.
    """
    try:
        return normalize_and_hash(approved[0])
    except InvalidResourceError:
        return approved


FINDING_VALUE_FIELDS = (
    "resource_type",
    "kind",
    "baseline_value",
    "current_value",
    "severity",
    "matched_rule",
)


def _finding_values(
    drift: ResourceDrift, change: Change, severity: str, rule: str
) -> dict[str, Any]:
    return {
        "resource_type": drift.resource_type,
        "kind": drift.kind,
        "baseline_value": change.old,
        "current_value": change.new,
        "severity": severity,
        "matched_rule": rule,
    }


def _exception_matcher(now: datetime) -> ExceptionMatcher:
    return ExceptionMatcher(
        (
            AcceptedDeviation(
                e.pk, e.resource_pattern, e.path_pattern, e.accepted_value, e.expires_at
            )
            for e in DriftException.objects.filter(expires_at__gt=now)
        ),
        now,
    )


def _path_events(
    keys: set[tuple[str, str]], report_id: int, policy: FlappingPolicy, found: Found
) -> tuple[list[tuple[str, str, list[int], bool]], set[tuple[str, str]]]:
    """An event for each (resource, path) in this pass (report ``report_id``): the path
    activity rows to write and the keys now flapping.

    The compared resources' activity and the latest report ids came with their configs
    (``found``); only resources with an event that were not compared (a full check
    resolving a finding of an unmoved resource), or a window longer than the latest
    reports read, need a statement here."""
    if not keys:
        return [], set()
    latest = found.latest_reports
    oldest = (
        None
        if latest is None
        else policy.window_start(
            latest, report_id, complete=len(latest) < statements.RECENT_REPORTS
        )
    )
    known = {key: ids for key, ids in found.activity.items() if key in keys}
    have = found.activity_of
    if oldest is None:
        known, have = {}, set()
        oldest = report_id  # what it is for paths with no earlier activity
    for batch in _batches(sorted({rid for rid, _ in keys if rid not in have})):
        read, window_start = statements.path_activity(batch, report_id, policy.passes)
        known.update((key, ids) for key, ids in read.items() if key in keys)
        oldest = window_start if window_start is not None else oldest
    rows: list[tuple[str, str, list[int], bool]] = []
    flapping: set[tuple[str, str]] = set()
    for rid, path in sorted(keys):
        recent, flaps = policy.record(known.get((rid, path), []), report_id, oldest)
        rows.append((rid, path, recent, flaps))
        if flaps:
            flapping.add((rid, path))
    return rows, flapping


def _source_digest() -> str:
    """Digest of the code and data that decide what drifts and how it is rated: a deploy
    that changes them makes the next pass compare every resource again."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in DETECTION_SOURCES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


DETECTION_SOURCES = (
    "compare.py",
    "severity.py",
    "suppression.py",
    "services.py",
    "statements.py",
    "default_rules.json",
)
SOURCE_DIGEST = _source_digest()


def detection_key(context: statements.Context) -> str:
    """What a pass compares against, as one digest: the baseline and its revision and
    scope, both rule documents as stored, the live exceptions, the normalisation rules
    and the detection code. Equal keys: the last pass's results still hold for every
    resource that did not change."""
    parts = [
        SOURCE_DIGEST,
        rules_fingerprint(),
        context.baseline_id,
        context.baseline_revision,
        context.prefix,
        *context.documents,
        context.exceptions_digest,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _needs_full_check(context: statements.Context, key: str, now: datetime) -> bool:
    """Whether this pass compares every resource: something it compares against changed
    since the last pass (or there was none), or the last full check is too old."""
    if key != context.last_key or context.last_full_check_at is None:
        return True
    age = (now - context.last_full_check_at).total_seconds()
    return age >= settings.DRIFT_FULL_CHECK_SECONDS


class _LazyExceptions:
    """The live exceptions, read only when there are some and a pass has a change to
    match them against."""

    def __init__(self, now: datetime, live: int) -> None:
        self.now = now
        self.live = live
        self._matcher: ExceptionMatcher | None = None

    def match(self, resource_id: str, path: str, value: Any) -> AcceptedDeviation | None:
        if not self.live:
            return None
        if self._matcher is None:
            self._matcher = _exception_matcher(self.now)
        return self._matcher.match(resource_id, path, value)


def run_detection(
    tenant: Tenant, *, poll_run_id: int | None = None, actor: str = "system", full: bool = False
) -> DriftReport:
    """One detection pass; creates the first baseline from the present state if there is none.

    Changes matched by an ``ignore`` rule never become findings; changes covered by a live
    exception (same value, not expired) are suppressed and their findings marked accepted.
    When the value moves again or the exception expires, a new open finding is created,
    so it is new for notifications too. Stored rules that are invalid (saved before they
    were validated) are left out and named in the report's error; the valid ones apply.

    Incremental: while the baseline (and its revision), the rules, the live exceptions
    and the detection code are those of the last pass (its ``detection_key``), a pass
    examines only the resources whose present hash moved since the hash it compared last
    (found through a partial index, not a scan) and carries the other resources' drift
    totals forward (:class:`drift.models.DriftedResource`). Anything else, no previous
    pass, ``full=True`` or a full check older than ``DRIFT_FULL_CHECK_SECONDS`` compares
    every resource in one join.

    Round trips, not comparing, dominate a pass (RESEARCH.md), so it sends one statement
    per kind of read and write (:mod:`drift.statements`): a pass with nothing changed
    reads the settings, the baseline, the pending resources and the totals in one
    statement and writes its report, the tenant's status and trend point in one more.
    """
    now = timezone.now()
    public = get_public_schema_name()
    context = statements.detection_context(tenant.pk, public)
    if context.baseline_id is None:
        create_baseline(name="Initial baseline (first collection)", actor=actor)
        context = statements.detection_context(tenant.pk, public)
    thresholds, rules, rule_problems = detection_rules(tenant, context.thresholds)
    flapping_policy = FlappingPolicy.from_thresholds(thresholds)
    key = detection_key(context)
    full = full or _needs_full_check(context, key, now)
    baseline_id = context.baseline_id
    if full:
        moved = statements.moved_resources(baseline_id, context.prefix)
        examined_ids = moved.changed + moved.added + moved.removed
    else:
        examined_ids = context.examined
    # An incremental pass compares the examined resources with their unresolved findings,
    # read with their configs; a full check reads every unresolved finding below.
    with_findings = not full and bool(context.unresolved)
    found = find_drift(baseline_id, examined_ids, FINDING_VALUE_FIELDS if with_findings else None)
    drifts, callers, compared = found.drifts, found.callers, found.compared
    existing: dict[tuple[str, str], statements.Unresolved] = found.unresolved
    if full and (drifts or context.unresolved):
        existing = statements.unresolved_findings(FINDING_VALUE_FIELDS)
    exceptions = _LazyExceptions(now, context.exceptions)
    by_severity: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    per_resource: dict[str, list[int]] = {}  # resource id -> [ignored, suppressed]
    seen_keys: set[tuple[str, str]] = set()
    ignored_keys: set[tuple[str, str]] = set()
    suppressed: dict[tuple[str, str], AcceptedDeviation] = {}
    new_findings: dict[tuple[str, str], dict[str, Any]] = {}
    seen: list[statements.Unresolved] = []
    value_changed: set[tuple[str, str]] = set()
    for drift in drifts:
        _, classified = rules.resource_severity(drift)
        by_kind[drift.kind] += 1
        tally = per_resource.setdefault(drift.resource_id, [0, 0])
        for change, severity, rule in classified:
            path_key = (drift.resource_id, change.dotted)
            if severity == IGNORE:
                ignored_keys.add(path_key)
                tally[0] += 1
                continue
            exception = exceptions.match(drift.resource_id, change.dotted, change.new)
            if exception is not None:
                suppressed[path_key] = exception
                tally[1] += 1
                continue
            seen_keys.add(path_key)
            by_severity[severity] += 1
            values = _finding_values(drift, change, severity, rule)
            finding = existing.get(path_key)
            if finding is None:
                new_findings[path_key] = {
                    "resource_id": drift.resource_id,
                    "path": change.dotted,
                    "changed_by": callers.get(drift.resource_id, "unknown"),
                    **values,
                }
            else:
                if finding.values != values:
                    value_changed.add(path_key)
                seen.append(finding._replace(severity=severity, values=values))
    closing = [
        (f.id, DriftFinding.Status.RESOLVED.value, "detection", None)
        for key, f in existing.items()
        if key not in seen_keys and key not in suppressed and key not in ignored_keys
    ]
    closing += [
        (existing[key].id, DriftFinding.Status.RESOLVED.value, "ignore rule", None)
        for key in ignored_keys
        if key in existing
    ]
    closing += [
        (existing[key].id, DriftFinding.Status.ACCEPTED.value, f"exception #{e.id}", e.id)
        for key, e in suppressed.items()
        if key in existing
    ]
    resolved = sum(1 for _, _, by, _ in closing if by == "detection")
    events = (
        set(new_findings)
        | value_changed
        | {
            key
            for key, f in existing.items()
            if key not in seen_keys and key not in suppressed and key not in ignored_keys
        }
    )
    open_now = Counter(f.severity for f in seen)
    open_now.update(f["severity"] for f in new_findings.values())
    if full:
        compared_count = moved.size + len(moved.added)
    else:
        # Totals: the unexamined resources' as the last pass left them, plus this pass's.
        by_kind.update(context.rest_by_kind)
        by_severity.update(context.rest_by_severity)
        open_now.update(context.rest_by_severity)
        compared_count = (
            context.last_compared - context.last_by_kind.get("added", 0) + by_kind["added"]
        )
    # Every pending row is marked at the hash the pass saw: the one it compared, else the
    # one read first (rows a full join found unmoved, examined rows with neither side, and
    # rows outside a scoped baseline, which are never compared).
    compared.update((rid, h) for rid, h in context.pending.items() if rid not in compared)
    counts = {severity: open_now.get(severity, 0) for severity in SEVERITIES}
    fields: dict[str, Any] = {
        "poll_run_id": poll_run_id,
        "baseline_id": baseline_id,
        "started_at": now,
        "finished_at": timezone.now(),
        "resources_compared": compared_count,
        "resources_drifted": sum(by_kind.values()),
        "by_severity": {severity: n for severity, n in by_severity.items() if n},
        "by_kind": {kind: n for kind, n in by_kind.items() if n},
        "opened": len(new_findings),
        "resolved": resolved,
        "suppressed": len(suppressed) + (0 if full else context.rest_suppressed),
        "ignored": len(ignored_keys) + (0 if full else context.rest_ignored),
        "error": "invalid rules left out: " + "; ".join(rule_problems) if rule_problems else "",
        "detection_key": key,
        "full_check_at": now if full else context.last_full_check_at,
    }
    examined = statements.Examined(
        full=full,
        resource_ids=examined_ids,
        compared_hashes=compared,
        drifted=[
            (drift.resource_id, drift.kind, *per_resource[drift.resource_id]) for drift in drifts
        ],
    )
    report_id = context.report_id
    activity, flapping = _path_events(events, report_id, flapping_policy, found)
    for path_key, row in new_findings.items():
        row["flapping"] = path_key in flapping
    for finding in seen:
        finding.values["flapping"] = (finding.resource_id, finding.path) in flapping
    had_status = statements.write_pass(
        report_id,
        fields,
        tenant.pk,
        counts,
        timezone.localdate(),
        examined,
        statements.FindingWrites(list(new_findings.values()), seen, closing, activity),
    )
    if not had_status:
        TenantStatus.objects.get_or_create(
            tenant=tenant,
            defaults={"open_findings": counts, "last_detection_at": fields["finished_at"]},
        )
    report = DriftReport(id=report_id, **fields)
    report._state.adding = False
    metrics.detection(
        duration=(timezone.now() - now).total_seconds(),
        opened=[row["severity"] for row in new_findings.values()],
        resolved=[
            f.severity
            for key, f in existing.items()
            if key not in seen_keys and key not in suppressed and key not in ignored_keys
        ],
    )
    return report


def run_exclusive_detection(
    tenant: Tenant, *, poll_run_id: int | None = None, actor: str = "system", wait: float = 0
) -> DriftReport:
    """A detection pass (:func:`run_detection`) holding the tenant's detection lock, so
    two passes of one tenant never overlap (:mod:`drift.locks`): what the drift task and
    ``manage.py detect_drift`` run. Raises ``DetectionAlreadyRunning`` when another pass
    still holds the lock after ``wait`` seconds."""
    with TenantDetectionLock(tenant.schema_name, wait=wait):
        return run_detection(tenant, poll_run_id=poll_run_id, actor=actor)


def open_findings_by_severity() -> dict[str, int]:
    """Unresolved (open or acknowledged) findings per severity in this schema."""
    counts = Counter(
        DriftFinding.objects.filter(status__in=UNRESOLVED).values_list("severity", flat=True)
    )
    return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def record_drift_status(tenant: Tenant) -> None:
    """Copy open findings by severity into the public TenantStatus and today's trend point.

    Called after every lifecycle action (a detection pass writes both with its report,
    :func:`drift.statements.insert_report`), so the fleet page and its 30-day trend read
    one public table instead of N schemas.
    """
    counts = open_findings_by_severity()
    if not _update_status_and_trend(tenant, counts, None):
        TenantStatus.objects.get_or_create(tenant=tenant, defaults={"open_findings": counts})


def _update_status_and_trend(
    tenant: Tenant, counts: dict[str, int], last_detection_at: datetime | None
) -> bool:
    """Update the tenant's status row and upsert today's trend point in one statement
    (one round trip per pass); False when the status row does not exist yet."""
    status = connection.ops.quote_name(TenantStatus._meta.db_table)
    trend = connection.ops.quote_name(FindingTrendPoint._meta.db_table)
    document = json.dumps(counts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH s AS (UPDATE {status} SET open_findings = %s::jsonb, "  # noqa: S608
            f"last_detection_at = COALESCE(%s, last_detection_at) WHERE tenant_id = %s "
            f"RETURNING 1) "
            f"INSERT INTO {trend} (tenant_id, day, open_findings) VALUES (%s, %s, %s::jsonb) "
            f"ON CONFLICT (tenant_id, day) DO UPDATE SET open_findings = EXCLUDED.open_findings "
            f"RETURNING (SELECT count(*) FROM s)",
            [document, last_detection_at, tenant.pk, tenant.pk, timezone.localdate(), document],
        )
        return bool(cursor.fetchone()[0])


def _current_tenant() -> Tenant:
    return Tenant.objects.get(schema_name=connection.schema_name)


def set_findings_status(finding_ids: Iterable[int], status: str, *, actor: str) -> int:
    """Acknowledge or reopen findings (recording who and when); returns how many changed."""
    if status not in (DriftFinding.Status.ACKNOWLEDGED, DriftFinding.Status.OPEN):
        raise ValueError(f"use accept_into_baseline to accept; cannot set {status!r} by hand")
    ids = list(finding_ids)
    with transaction.atomic():
        touched = list(
            DriftFinding.objects.filter(pk__in=ids, status__in=UNRESOLVED).values_list(
                "pk", "status"
            )
        )
        changed = DriftFinding.objects.filter(pk__in=ids, status__in=UNRESOLVED).update(
            status=status, status_changed_by=actor, status_changed_at=timezone.now()
        )
        _record_findings(touched, status, actor=actor)
    return changed


def _record_findings(
    touched: list[tuple[int, str]], status: str, *, actor: str, verb: str = ""
) -> None:
    """One change-log row per finding whose status a person changed."""
    from auditlog.services import record_change

    verbs = {"acknowledged": "acknowledged", "accepted": "accepted", "open": "reopened"}
    for pk, before in touched:
        if before == status:
            continue
        record_change(
            action=f"finding.{verb or verbs.get(status, status)}",
            object_type="finding",
            object_id=pk,
            before={"status": before},
            after={"status": status},
            actor=actor,
        )


def accept_into_baseline(finding_ids: Iterable[int], *, actor: str) -> int:
    """Accept the current configuration of the findings' resources into the active baseline."""
    now = timezone.now()
    baseline = Baseline.objects.filter(active=True).first()
    if baseline is None:
        raise ValueError("there is no active baseline")
    with transaction.atomic():
        findings = list(
            DriftFinding.objects.filter(pk__in=list(finding_ids), status__in=UNRESOLVED)
        )
        resource_ids = {f.resource_id for f in findings}
        if resource_ids:  # the next detection pass compares every resource again
            Baseline.objects.filter(pk=baseline.pk).update(revision=F("revision") + 1)
        current = {
            rid: (rtype, config, digest, deleted)
            for rid, rtype, config, digest, deleted in Configuration.objects.filter(
                resource_id__in=resource_ids
            ).values_list(
                "resource_id", "resource_type", "config_data", "config_hash", "deleted_at"
            )
        }
        for rid in resource_ids:
            rtype, config, digest, deleted = current.get(rid, (None, None, None, True))
            if deleted:
                baseline.entries.filter(resource_id=rid).delete()
            else:
                BaselineEntry.objects.update_or_create(
                    baseline=baseline,
                    resource_id=rid,
                    defaults={
                        "resource_type": rtype,
                        "config": config,
                        "config_hash": digest,
                        "accepted_by": actor,
                        "accepted_at": now,
                        "normalized_with": rules_fingerprint(),
                    },
                )
        touched = list(
            DriftFinding.objects.filter(
                resource_id__in=resource_ids, status__in=UNRESOLVED
            ).values_list("pk", "status")
        )
        _record_findings(touched, DriftFinding.Status.ACCEPTED, actor=actor)
        DriftFinding.objects.filter(resource_id__in=resource_ids, status__in=UNRESOLVED).update(
            status=DriftFinding.Status.ACCEPTED,
            status_changed_by=actor,
            status_changed_at=now,
            resolved_at=now,
        )
    record_drift_status(_current_tenant())
    return len(resource_ids)


def create_exceptions(
    finding_ids: Iterable[int], *, reason: str, expires_at: datetime, actor: str
) -> list[DriftException]:
    """Accept each unresolved finding's current value as a deviation until ``expires_at``.

    One exception per finding (exactly its resource and path, its current value); the
    findings become accepted. Raises ValidationError for an empty reason or a past expiry.
    """
    now = timezone.now()
    problems = {}
    if not reason.strip():
        problems["reason"] = "Say why this deviation is accepted."
    if expires_at <= now:
        problems["expires_at"] = "The expiry must be in the future."
    if problems:
        raise ValidationError(problems)
    created: list[DriftException] = []
    with transaction.atomic():
        for finding in DriftFinding.objects.select_for_update().filter(
            pk__in=list(finding_ids), status__in=UNRESOLVED
        ):
            exception = DriftException.objects.create(
                resource_pattern=glob_escape(finding.resource_id),
                path_pattern=glob_escape(finding.path),
                accepted_value=finding.current_value,
                reason=reason.strip(),
                approved_by=actor,
                expires_at=expires_at,
            )
            _record_findings(
                [(finding.pk, finding.status)], DriftFinding.Status.ACCEPTED, actor=actor
            )
            finding.status = DriftFinding.Status.ACCEPTED
            finding.exception = exception
            finding.resolved_at = now
            finding.status_changed_by = actor
            finding.status_changed_at = now
            finding.save(
                update_fields=[
                    "status",
                    "exception",
                    "resolved_at",
                    "status_changed_by",
                    "status_changed_at",
                ]
            )
            created.append(exception)
    if created:
        record_drift_status(_current_tenant())
    return created


IGNORE_SCOPES = ("resource", "type", "group")


def ignore_rule_for(finding: DriftFinding, scope: str = "resource") -> dict[str, Any]:
    """The drift_thresholds rule that ignores this finding's path on its resource, on every
    resource of its type (``scope="type"``) or of its resource group (``"group"``)."""
    rid = finding.resource_id.lower()
    resource, where = glob_escape(rid), rid.rsplit("/", 1)[-1]
    if scope == "type":
        resource, where = "*", f"every {finding.resource_type.lower()}"
    elif scope == "group":
        group = rid.split("/providers/", 1)[0]
        resource, where = glob_escape(group) + "/*", f"resource group {group.rsplit('/', 1)[-1]}"
    elif scope != "resource":
        raise ValueError(f"scope must be one of {IGNORE_SCOPES}")
    return {
        "name": f"ignore {finding.path} on {where}",
        "resource": resource,
        "resource_type": glob_escape(finding.resource_type.lower()),
        "path": "^" + re.escape(finding.path) + "$",
        "severity": IGNORE,
    }


def ignore_finding_paths(finding_ids: Iterable[int], *, actor: str, scope: str = "resource") -> int:
    """Add an ignore rule for each finding's path on its resource, type or resource group
    (``scope``; a new settings version, at the front of the tenant's rules) and resolve
    those findings; returns rules added."""
    from tenants.services import update_settings

    tenant = _current_tenant()
    findings = list(DriftFinding.objects.filter(pk__in=list(finding_ids)))
    version = current_settings(tenant)
    thresholds = dict(version.drift_thresholds if version else {})
    rules = list(thresholds.get("rules") or [])
    wanted = [ignore_rule_for(f, scope) for f in findings]
    added = [rule for rule in wanted if rule not in rules]
    now = timezone.now()
    with transaction.atomic():
        if added:
            thresholds["rules"] = added + rules
            update_settings(tenant, actor=actor, drift_thresholds=thresholds)
        _record_findings(
            [(f.pk, f.status) for f in findings if f.status in UNRESOLVED],
            DriftFinding.Status.RESOLVED,
            actor=actor,
            verb="ignored",
        )
        DriftFinding.objects.filter(pk__in=[f.pk for f in findings], status__in=UNRESOLVED).update(
            status=DriftFinding.Status.RESOLVED,
            resolved_at=now,
            status_changed_by=f"{actor} (ignore rule)",
            status_changed_at=now,
        )
    record_drift_status(tenant)
    return len(added)
