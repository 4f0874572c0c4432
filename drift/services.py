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
from datetime import datetime
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from configurations.models import Configuration, ConfigurationHistory
from configurations.normalize import InvalidResourceError, normalize_and_hash
from drift.choices import SEVERITIES
from drift.compare import Change, ResourceDrift, compare_resource
from drift.models import (
    Baseline,
    BaselineEntry,
    DriftException,
    DriftFinding,
    DriftReport,
    PathActivity,
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
    a subscription or resource group id) the active baseline."""
    now = timezone.now()
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
                )
                for rid, rtype, config, digest in batch
            )
    return baseline


def _latest_callers(resource_ids: Iterable[str]) -> dict[str, str]:
    callers: dict[str, str] = {}
    rows = (
        ConfigurationHistory.objects.filter(configuration__resource_id__in=list(resource_ids))
        .order_by("configuration__resource_id", "-changed_at", "-id")
        .distinct("configuration__resource_id")
        .values_list("configuration__resource_id", "changed_by")
    )
    for resource_id, changed_by in rows:
        callers[resource_id] = changed_by
    return callers


def _moved_resources(baseline: Baseline) -> tuple[int, list[str], list[str], list[str]]:
    """(resources compared, changed ids, added ids, removed ids), the hash comparison done in
    PostgreSQL with one full join, so a pass with nothing changed moves no rows to Python.
    The baseline's size comes back in the same statement (its last row)."""
    entries = connection.ops.quote_name(BaselineEntry._meta.db_table)
    configs = connection.ops.quote_name(Configuration._meta.db_table)
    scope = "" if baseline.scope == "tenant" else baseline.scope
    like_prefix = scope.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(b.resource_id, c.resource_id), b.resource_id IS NOT NULL, "  # noqa: S608
            f"c.resource_id IS NOT NULL, NULL::bigint FROM "
            f"(SELECT resource_id, config_hash FROM {entries} WHERE baseline_id = %s) b "
            f"FULL OUTER JOIN (SELECT resource_id, config_hash FROM {configs} "
            f"WHERE deleted_at IS NULL AND resource_id LIKE %s) c ON b.resource_id = c.resource_id "
            f"WHERE b.config_hash IS DISTINCT FROM c.config_hash "
            f"UNION ALL SELECT NULL, NULL, NULL, "
            f"(SELECT count(*) FROM {entries} WHERE baseline_id = %s)",
            [baseline.pk, like_prefix, baseline.pk],
        )
        moved = cursor.fetchall()
    size = next(count for rid, _, _, count in moved if rid is None)
    moved = [row for row in moved if row[0] is not None]
    changed = [rid for rid, approved, present, _ in moved if approved and present]
    added = [rid for rid, approved, present, _ in moved if present and not approved]
    removed = [rid for rid, approved, present, _ in moved if approved and not present]
    return size + len(added), changed, added, removed


def find_drift(baseline: Baseline) -> tuple[int, list[ResourceDrift]]:
    """(resources compared, drift per resource) between ``baseline`` and the present state.

    The approved and present configurations of the moved resources come back in one
    statement per batch (a full join on their ids), not one query per side.
    """
    compared, changed, added, removed = _moved_resources(baseline)
    entries = connection.ops.quote_name(BaselineEntry._meta.db_table)
    configs = connection.ops.quote_name(Configuration._meta.db_table)
    drifts: list[ResourceDrift] = []
    for batch in _batches(changed + added + removed, 2000):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COALESCE(c.resource_id, b.resource_id), "  # noqa: S608
                f"COALESCE(c.resource_type, b.resource_type), b.config, b.config_hash, "
                f"c.config_data, c.config_hash FROM "
                f"(SELECT resource_id, resource_type, config, config_hash FROM {entries} "
                f"WHERE baseline_id = %s AND resource_id = ANY(%s)) b FULL OUTER JOIN "
                f"(SELECT resource_id, resource_type, config_data, config_hash FROM {configs} "
                f"WHERE deleted_at IS NULL AND resource_id = ANY(%s)) c "
                f"ON b.resource_id = c.resource_id",
                [baseline.pk, batch, batch],
            )
            rows = cursor.fetchall()
        refreshed: dict[str, tuple[dict[str, Any], str]] = {}
        for rid, rtype, approved, approved_hash, present, present_hash in rows:
            before = None if approved_hash is None else (orjson.loads(approved), approved_hash)
            if before is not None and present_hash is not None:
                before = _renormalised(before)
                if before[1] != approved_hash:
                    refreshed[rid] = before
            drift = compare_resource(
                rid,
                rtype,
                before,
                None if present_hash is None else (orjson.loads(present), present_hash),
            )
            if drift is not None:
                drifts.append(drift)
        _refresh_entries(baseline, refreshed)
    return compared, drifts


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


def _refresh_entries(baseline: Baseline, refreshed: dict[str, tuple[dict[str, Any], str]]) -> None:
    """Store re-normalised approved configs (same approval, current form), once."""
    if not refreshed:
        return
    entries = list(baseline.entries.filter(resource_id__in=list(refreshed)))
    for entry in entries:
        entry.config, entry.config_hash = refreshed[entry.resource_id]
    BaselineEntry.objects.bulk_update(entries, ["config", "config_hash"], batch_size=BATCH)


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
    keys: set[tuple[str, str]], report: DriftReport, policy: FlappingPolicy
) -> set[tuple[str, str]]:
    """Note an event for each (resource, path) in this pass; returns the keys now flapping."""
    if not keys:
        return set()
    window = list(
        DriftReport.objects.filter(pk__lte=report.pk)
        .order_by("-pk")
        .values_list("pk", flat=True)[: policy.passes]
    )
    oldest = window[-1] if window else report.pk
    known: dict[tuple[str, str], list[int]] = {}
    resource_ids = sorted({rid for rid, _ in keys})
    for batch in _batches(resource_ids):
        for rid, path, report_ids in PathActivity.objects.filter(resource_id__in=batch).values_list(
            "resource_id", "path", "report_ids"
        ):
            if (rid, path) in keys:
                known[(rid, path)] = report_ids
    rows: list[PathActivity] = []
    flapping: set[tuple[str, str]] = set()
    for rid, path in keys:
        recent, flaps = policy.record(known.get((rid, path), []), report.pk, oldest)
        rows.append(PathActivity(resource_id=rid, path=path, report_ids=recent, flapping=flaps))
        if flaps:
            flapping.add((rid, path))
    PathActivity.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["resource_id", "path"],
        update_fields=["report_ids", "flapping"],
    )
    return flapping


def run_detection(
    tenant: Tenant, *, poll_run_id: int | None = None, actor: str = "system"
) -> DriftReport:
    """One detection pass; creates the first baseline from the present state if there is none.

    Changes matched by an ``ignore`` rule never become findings; changes covered by a live
    exception (same value, not expired) are suppressed and their findings marked accepted.
    When the value moves again or the exception expires, a new open finding is created,
    so it is new for notifications too. Stored rules that are invalid (saved before they
    were validated) are left out and named in the report's error; the valid ones apply.
    """
    thresholds, rules, rule_problems = detection_rules(tenant)
    flapping_policy = FlappingPolicy.from_thresholds(thresholds)
    now = timezone.now()
    exceptions = _exception_matcher(now)
    baseline = Baseline.objects.filter(active=True).first()
    if baseline is None:
        baseline = create_baseline(name="Initial baseline (first collection)", actor=actor)
    compared, drifts = find_drift(baseline)
    callers = _latest_callers(d.resource_id for d in drifts)
    by_severity: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    seen_keys: set[tuple[str, str]] = set()
    ignored_keys: set[tuple[str, str]] = set()
    suppressed: dict[tuple[str, str], AcceptedDeviation] = {}
    new_findings: list[DriftFinding] = []
    updated: list[DriftFinding] = []
    persisting: list[int] = []
    with transaction.atomic():
        existing = {
            (f.resource_id, f.path): f for f in DriftFinding.objects.filter(status__in=UNRESOLVED)
        }
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
                    new_findings.append(
                        DriftFinding(
                            resource_id=drift.resource_id,
                            path=change.dotted,
                            first_seen=now,
                            last_seen=now,
                            changed_by=callers.get(drift.resource_id, "unknown"),
                            **values,
                        )
                    )
                elif any(getattr(finding, k) != v for k, v in values.items()):
                    for field, value in values.items():
                        setattr(finding, field, value)
                    updated.append(finding)
                else:
                    persisting.append(finding.pk)
        back_to_baseline = [
            f.pk
            for key, f in existing.items()
            if key not in seen_keys and key not in suppressed and key not in ignored_keys
        ]
        resolved_pks = set(back_to_baseline)
        events = (
            {(f.resource_id, f.path) for f in new_findings}
            | {(f.resource_id, f.path) for f in updated}
            | {key for key, f in existing.items() if f.pk in resolved_pks}
        )
        # The report is written once, with its figures (one statement, not insert + update).
        report = DriftReport.objects.create(
            poll_run_id=poll_run_id,
            baseline=baseline,
            started_at=now,
            finished_at=timezone.now(),
            resources_compared=compared,
            resources_drifted=len(drifts),
            by_severity=dict(by_severity),
            by_kind=dict(by_kind),
            opened=len(new_findings),
            resolved=len(back_to_baseline),
            suppressed=len(suppressed),
            ignored=len(ignored_keys),
            error="invalid rules left out: " + "; ".join(rule_problems) if rule_problems else "",
        )
        flapping = _record_path_events(events, report, flapping_policy)
        for finding in new_findings:
            finding.last_report = report
            finding.flapping = (finding.resource_id, finding.path) in flapping
        DriftFinding.objects.bulk_create(new_findings, batch_size=BATCH)
        DriftFinding.objects.bulk_update(updated, FINDING_VALUE_FIELDS, batch_size=BATCH)
        # Every finding still drifting was seen by this report.
        DriftFinding.objects.filter(pk__in=[f.pk for f in updated] + persisting).update(
            last_seen=now, last_report=report
        )
        newly_flapping = [f.pk for f in updated if (f.resource_id, f.path) in flapping]
        DriftFinding.objects.filter(pk__in=newly_flapping).update(flapping=True)
        DriftFinding.objects.filter(pk__in=back_to_baseline).update(
            status=DriftFinding.Status.RESOLVED,
            resolved_at=now,
            status_changed_by="detection",
            status_changed_at=now,
        )
        ignored_pks = [existing[key].pk for key in ignored_keys if key in existing]
        DriftFinding.objects.filter(pk__in=ignored_pks).update(
            status=DriftFinding.Status.RESOLVED,
            resolved_at=now,
            status_changed_by="ignore rule",
            status_changed_at=now,
        )
        for key, exception in suppressed.items():
            if key in existing:
                DriftFinding.objects.filter(pk=existing[key].pk).update(
                    status=DriftFinding.Status.ACCEPTED,
                    exception_id=exception.id,
                    resolved_at=now,
                    status_changed_by=f"exception #{exception.id}",
                    status_changed_at=now,
                )
    open_now = Counter(
        f.severity
        for key, f in existing.items()
        if f.pk not in resolved_pks and key not in ignored_keys and key not in suppressed
    )
    open_now.update(f.severity for f in new_findings)
    record_drift_status(tenant, report, counts=open_now)
    metrics.detection(
        duration=(timezone.now() - now).total_seconds(),
        opened=[f.severity for f in new_findings],
        resolved=[f.severity for f in existing.values() if f.pk in resolved_pks],
    )
    return report


def open_findings_by_severity() -> dict[str, int]:
    """Unresolved (open or acknowledged) findings per severity in this schema."""
    counts = Counter(
        DriftFinding.objects.filter(status__in=UNRESOLVED).values_list("severity", flat=True)
    )
    return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def record_drift_status(
    tenant: Tenant, report: DriftReport | None = None, counts: Counter[str] | None = None
) -> None:
    """Copy open findings by severity into the public TenantStatus and today's trend point.

    Called after every detection pass and every lifecycle action, so the fleet page and
    its 30-day trend read one public table instead of N schemas. A detection pass passes
    the ``counts`` it already knows (saving a query per pass).
    """
    counts = (
        {severity: counts.get(severity, 0) for severity in SEVERITIES}
        if counts is not None
        else open_findings_by_severity()
    )
    fields: dict[str, Any] = {"open_findings": counts}
    if report is not None:
        fields["last_detection_at"] = report.finished_at
    if not _update_status_and_trend(tenant, counts, fields.get("last_detection_at")):
        TenantStatus.objects.get_or_create(tenant=tenant, defaults=fields)


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
