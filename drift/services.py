"""Drift detection and the findings lifecycle (connection already in the tenant schema).

A detection pass compares the present configuration with the active baseline: sets of
(resource id, hash) first, deepdiff only for resources whose hash moved; each changed
value is classified by the tenant's rule set and becomes a finding. The same drift in a
later pass updates its finding (last_seen); a value back at its baseline resolves it.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from configurations.models import Configuration
from configurations.normalize import InvalidResourceError, normalize_and_hash, rules_fingerprint
from drift import statements
from drift.choices import SEVERITIES
from drift.compare import Change, ResourceDrift, compare_resource
from drift.models import (
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

UNRESOLVED = (DriftFinding.Status.OPEN, DriftFinding.Status.ACKNOWLEDGED)
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


def find_drift(moved: statements.Moved) -> tuple[list[ResourceDrift], dict[str, str]]:
    """(drift per moved resource, who changed each last) against the active baseline.

    The approved and present configurations of the moved resources, and their latest
    callers, come back in one statement per batch. An approved config normalised under
    older normalisation rules is brought to the current form first (and stored so, once).
    """
    if moved.baseline_id is None:
        return [], {}
    fingerprint = rules_fingerprint()
    drifts: list[ResourceDrift] = []
    callers: dict[str, str] = {}
    for batch in _batches(moved.changed + moved.added + moved.removed, 2000):
        refreshed: dict[str, tuple[dict[str, Any], str]] = {}
        for sides in statements.approved_and_present(moved.baseline_id, batch):
            before = sides.approved
            if (
                before is not None
                and sides.present is not None
                and sides.normalized_with != fingerprint
            ):
                before = _renormalised(before)
                refreshed[sides.resource_id] = before
            drift = compare_resource(sides.resource_id, sides.resource_type, before, sides.present)
            if drift is not None:
                drifts.append(drift)
                callers[drift.resource_id] = sides.changed_by
        statements.refresh_entries(moved.baseline_id, refreshed, fingerprint)
    return drifts, callers


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


def _record_path_events(
    keys: set[tuple[str, str]], report_id: int, policy: FlappingPolicy
) -> set[tuple[str, str]]:
    """Note an event for each (resource, path) in this pass; returns the keys now flapping."""
    if not keys:
        return set()
    known: dict[tuple[str, str], list[int]] = {}
    oldest = report_id  # what it is for paths with no earlier activity
    for batch in _batches(sorted({rid for rid, _ in keys})):
        found, window_start = statements.path_activity(batch, report_id, policy.passes)
        known.update((key, ids) for key, ids in found.items() if key in keys)
        oldest = window_start if window_start is not None else oldest
    rows: list[tuple[str, str, list[int], bool]] = []
    flapping: set[tuple[str, str]] = set()
    for rid, path in sorted(keys):
        recent, flaps = policy.record(known.get((rid, path), []), report_id, oldest)
        rows.append((rid, path, recent, flaps))
        if flaps:
            flapping.add((rid, path))
    for batch in _batches(rows):
        statements.upsert_path_activity(batch)
    return flapping


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
    tenant: Tenant, *, poll_run_id: int | None = None, actor: str = "system"
) -> DriftReport:
    """One detection pass; creates the first baseline from the present state if there is none.

    Changes matched by an ``ignore`` rule never become findings; changes covered by a live
    exception (same value, not expired) are suppressed and their findings marked accepted.
    When the value moves again or the exception expires, a new open finding is created,
    so it is new for notifications too. Stored rules that are invalid (saved before they
    were validated) are left out and named in the report's error; the valid ones apply.

    Round trips, not comparing, dominate a pass (RESEARCH.md), so it sends one statement
    per kind of read and write (:mod:`drift.statements`): a pass with nothing changed and
    no unresolved finding reads the settings, the baseline and the moved resources in one
    statement and writes its report, the tenant's status and trend point in one more.
    """
    now = timezone.now()
    moved = statements.moved_resources(tenant.pk, get_public_schema_name())
    if moved.baseline_id is None:
        create_baseline(name="Initial baseline (first collection)", actor=actor)
        moved = statements.moved_resources(tenant.pk, get_public_schema_name())
    thresholds, rules, rule_problems = detection_rules(tenant, moved.thresholds)
    flapping_policy = FlappingPolicy.from_thresholds(thresholds)
    drifts, callers = find_drift(moved)
    existing = (
        statements.unresolved_findings(FINDING_VALUE_FIELDS) if drifts or moved.unresolved else {}
    )
    exceptions = _LazyExceptions(now, moved.exceptions)
    by_severity: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    seen_keys: set[tuple[str, str]] = set()
    ignored_keys: set[tuple[str, str]] = set()
    suppressed: dict[tuple[str, str], AcceptedDeviation] = {}
    new_findings: dict[tuple[str, str], dict[str, Any]] = {}
    seen: list[statements.Unresolved] = []
    value_changed: set[tuple[str, str]] = set()
    for drift in drifts:
        _, classified = rules.resource_severity(drift)
        by_kind[drift.kind] += 1
        for change, severity, rule in classified:
            key = (drift.resource_id, change.dotted)
            if severity == IGNORE:
                ignored_keys.add(key)
                continue
            exception = exceptions.match(drift.resource_id, change.dotted, change.new)
            if exception is not None:
                suppressed[key] = exception
                continue
            seen_keys.add(key)
            by_severity[severity] += 1
            values = _finding_values(drift, change, severity, rule)
            finding = existing.get(key)
            if finding is None:
                new_findings[key] = {
                    "resource_id": drift.resource_id,
                    "path": change.dotted,
                    "changed_by": callers.get(drift.resource_id, "unknown"),
                    **values,
                }
            else:
                if finding.values != values:
                    value_changed.add(key)
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
    counts = {severity: open_now.get(severity, 0) for severity in SEVERITIES}
    fields: dict[str, Any] = {
        "poll_run_id": poll_run_id,
        "baseline_id": moved.baseline_id,
        "started_at": now,
        "finished_at": timezone.now(),
        "resources_compared": moved.compared,
        "resources_drifted": len(drifts),
        "by_severity": dict(by_severity),
        "by_kind": dict(by_kind),
        "opened": len(new_findings),
        "resolved": resolved,
        "suppressed": len(suppressed),
        "ignored": len(ignored_keys),
        "error": "invalid rules left out: " + "; ".join(rule_problems) if rule_problems else "",
    }
    writes_findings = bool(events or seen or closing)
    with transaction.atomic() if writes_findings else nullcontext():
        # The report, the tenant's status row and today's trend point: one statement.
        report_id, had_status = statements.insert_report(
            fields, tenant.pk, counts, timezone.localdate()
        )
        flapping = _record_path_events(events, report_id, flapping_policy)
        for key, row in new_findings.items():
            row["flapping"] = key in flapping
        for finding in seen:
            finding.values["flapping"] = (finding.resource_id, finding.path) in flapping
        for batch in _batches(list(new_findings.values())):
            statements.insert_findings(batch, now, report_id)
        for batch in _batches(seen):
            statements.update_seen_findings(batch, now, report_id)
        for batch in _batches(closing):
            statements.close_findings(batch, now)
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
