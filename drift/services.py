"""Drift detection and the findings lifecycle (connection already in the tenant schema).

A detection pass compares the present configuration with the active baseline: sets of
(resource id, hash) first, deepdiff only for resources whose hash moved; each changed
value is classified by the tenant's rule set and becomes a finding. The same drift in a
later pass updates its finding (last_seen); a value back at its baseline resolves it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from configurations.models import Configuration, ConfigurationHistory
from drift.compare import Change, ResourceDrift, compare_resource
from drift.models import Baseline, BaselineEntry, DriftFinding, DriftReport
from drift.severity import SEVERITIES, RuleSet, build_rule_set
from tenants.models import Tenant, TenantStatus
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
    PostgreSQL with one full join, so a pass with nothing changed moves no rows to Python."""
    entries = connection.ops.quote_name(BaselineEntry._meta.db_table)
    configs = connection.ops.quote_name(Configuration._meta.db_table)
    scope = "" if baseline.scope == "tenant" else baseline.scope
    like_prefix = scope.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(b.resource_id, c.resource_id), b.resource_id IS NOT NULL, "  # noqa: S608
            f"c.resource_id IS NOT NULL FROM "
            f"(SELECT resource_id, config_hash FROM {entries} WHERE baseline_id = %s) b "
            f"FULL OUTER JOIN (SELECT resource_id, config_hash FROM {configs} "
            f"WHERE deleted_at IS NULL AND resource_id LIKE %s) c ON b.resource_id = c.resource_id "
            f"WHERE b.config_hash IS DISTINCT FROM c.config_hash",
            [baseline.pk, like_prefix],
        )
        moved = cursor.fetchall()
    changed = [rid for rid, approved, present in moved if approved and present]
    added = [rid for rid, approved, present in moved if present and not approved]
    removed = [rid for rid, approved, present in moved if approved and not present]
    compared = baseline.entries.count() + len(added)
    return compared, changed, added, removed


def find_drift(baseline: Baseline) -> tuple[int, list[ResourceDrift]]:
    """(resources compared, drift per resource) between ``baseline`` and the present state."""
    compared, changed, added, removed = _moved_resources(baseline)
    drifts: list[ResourceDrift] = []
    for batch in _batches(changed + added):
        current = {
            rid: (config, digest, rtype)
            for rid, config, digest, rtype in Configuration.objects.filter(
                resource_id__in=batch
            ).values_list("resource_id", "config_data", "config_hash", "resource_type")
        }
        approved = {
            rid: (config, digest)
            for rid, config, digest in baseline.entries.filter(resource_id__in=batch).values_list(
                "resource_id", "config", "config_hash"
            )
        }
        for rid in batch:
            config, digest, rtype = current[rid]
            before = approved.get(rid)
            drift = compare_resource(rid, rtype, before, (config, digest))
            if drift is not None:
                drifts.append(drift)
    for batch in _batches(removed):
        for rid, rtype, config, digest in baseline.entries.filter(
            resource_id__in=batch
        ).values_list("resource_id", "resource_type", "config", "config_hash"):
            drifts.append(compare_resource(rid, rtype, (config, digest), None))
    return compared, drifts


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


def run_detection(
    tenant: Tenant, *, poll_run_id: int | None = None, actor: str = "system"
) -> DriftReport:
    """One detection pass; creates the first baseline from the present state if there is none.

    Raises drift.severity.RuleSetError (before writing anything) if the tenant's rules are
    invalid.
    """
    version = current_settings(tenant)
    rules: RuleSet = build_rule_set(version.drift_thresholds if version else None)
    now = timezone.now()
    baseline = Baseline.objects.filter(active=True).first()
    if baseline is None:
        baseline = create_baseline(name="Initial baseline (first collection)", actor=actor)
    report = DriftReport.objects.create(poll_run_id=poll_run_id, baseline=baseline, started_at=now)
    compared, drifts = find_drift(baseline)
    callers = _latest_callers(d.resource_id for d in drifts)
    by_severity: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    seen_keys: set[tuple[str, str]] = set()
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
                            last_report=report,
                            **values,
                        )
                    )
                elif any(getattr(finding, k) != v for k, v in values.items()):
                    for field, value in values.items():
                        setattr(finding, field, value)
                    updated.append(finding)
                else:
                    persisting.append(finding.pk)
        DriftFinding.objects.bulk_create(new_findings, batch_size=BATCH)
        DriftFinding.objects.bulk_update(updated, FINDING_VALUE_FIELDS, batch_size=BATCH)
        # Every finding still drifting was seen by this report.
        DriftFinding.objects.filter(pk__in=[f.pk for f in updated] + persisting).update(
            last_seen=now, last_report=report
        )
        opened = len(new_findings)
        back_to_baseline = [
            f.pk for key, f in existing.items() if key not in seen_keys and f.status in UNRESOLVED
        ]
        DriftFinding.objects.filter(pk__in=back_to_baseline).update(
            status=DriftFinding.Status.RESOLVED,
            resolved_at=now,
            status_changed_by="detection",
            status_changed_at=now,
        )
        report.finished_at = timezone.now()
        report.resources_compared = compared
        report.resources_drifted = len(drifts)
        report.by_severity = dict(by_severity)
        report.by_kind = dict(by_kind)
        report.opened = opened
        report.resolved = len(back_to_baseline)
        report.save()
    record_drift_status(tenant, report)
    return report


def open_findings_by_severity() -> dict[str, int]:
    """Unresolved (open or acknowledged) findings per severity in this schema."""
    counts = Counter(
        DriftFinding.objects.filter(status__in=UNRESOLVED).values_list("severity", flat=True)
    )
    return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def record_drift_status(tenant: Tenant, report: DriftReport) -> None:
    """Copy open findings by severity into the public TenantStatus for the fleet page."""
    status, _ = TenantStatus.objects.get_or_create(tenant=tenant)
    status.open_findings = open_findings_by_severity()
    status.last_detection_at = report.finished_at
    status.save(update_fields=["open_findings", "last_detection_at"])


def set_findings_status(finding_ids: Iterable[int], status: str, *, actor: str) -> int:
    """Acknowledge or reopen findings (recording who and when); returns how many changed."""
    if status not in (DriftFinding.Status.ACKNOWLEDGED, DriftFinding.Status.OPEN):
        raise ValueError(f"use accept_into_baseline to accept; cannot set {status!r} by hand")
    return DriftFinding.objects.filter(pk__in=list(finding_ids), status__in=UNRESOLVED).update(
        status=status, status_changed_by=actor, status_changed_at=timezone.now()
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
        DriftFinding.objects.filter(resource_id__in=resource_ids, status__in=UNRESOLVED).update(
            status=DriftFinding.Status.ACCEPTED,
            status_changed_by=actor,
            status_changed_at=now,
            resolved_at=now,
        )
    return len(resource_ids)


def request_detection(tenant: Tenant, *, poll_run_id: int | None) -> None:
    """Queue a detection pass of ``tenant`` (sent when the caller's transaction commits)."""
    from driftdetector.celery import app

    transaction.on_commit(
        lambda: app.send_task(
            "drift.tasks.detect_drift",
            kwargs={"poll_run_id": poll_run_id},
            headers={"_schema_name": tenant.schema_name},
            queue="drift",
        )
    )
