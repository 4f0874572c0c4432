"""Reads for drift pages (connection already in the tenant schema)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from configurations.models import Configuration, ConfigurationHistory
from drift.models import Baseline, BaselineEntry, DriftFinding


def active_baseline() -> Baseline | None:
    """The baseline detection compares against."""
    return Baseline.objects.filter(active=True).first()


def approved_and_current(finding: DriftFinding) -> tuple[Any, Any]:
    """(baseline config, current config) of the finding's resource; None where absent."""
    baseline = active_baseline()
    approved = None
    if baseline is not None:
        approved = (
            BaselineEntry.objects.filter(baseline=baseline, resource_id=finding.resource_id)
            .values_list("config", flat=True)
            .first()
        )
    current = (
        Configuration.objects.filter(resource_id=finding.resource_id, deleted_at__isnull=True)
        .values_list("config_data", flat=True)
        .first()
    )
    return approved, current


def resource_history(resource_id: str, limit: int = 50) -> QuerySet[ConfigurationHistory]:
    """The newest collected changes of one resource (who and when), newest first."""
    return ConfigurationHistory.objects.filter(configuration__resource_id=resource_id).order_by(
        "-changed_at", "-id"
    )[:limit]


def baseline_scopes(limit: int = 500) -> list[tuple[str, str]]:
    """Choices for a scoped baseline: each subscription and resource group present, as
    (id prefix, label)."""
    choices: list[tuple[str, str]] = []
    subscriptions = (
        Configuration.objects.filter(deleted_at__isnull=True)
        .order_by("subscription_id")
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    for subscription in subscriptions[:limit]:
        if subscription:
            choices.append((f"/subscriptions/{subscription}/", f"subscription {subscription}"))
    groups = (
        Configuration.objects.filter(deleted_at__isnull=True)
        .exclude(resource_group="")
        .order_by("subscription_id", "resource_group")
        .values_list("subscription_id", "resource_group")
        .distinct()
    )
    for subscription, group in groups[:limit]:
        choices.append(
            (
                f"/subscriptions/{subscription}/resourcegroups/{group}/",
                f"resource group {group} ({subscription})",
            )
        )
    return choices


def findings_changed_by_report(report_id: int) -> dict[str, list[DriftFinding]]:
    """The findings whose state a detection pass changed, for notifications.

    ``opened``: created by the pass; ``changed``: seen by the pass with a new value or
    severity (its path has an event in this pass); ``resolved``: resolved by the pass
    (back at baseline or matched by an ignore rule). Findings merely persisting are left out.
    """
    from drift.models import DriftReport, PathActivity

    report = DriftReport.objects.get(pk=report_id)
    seen = list(DriftFinding.objects.filter(last_report_id=report_id))
    opened = [f for f in seen if f.first_seen >= report.started_at]
    rest = [f for f in seen if f.first_seen < report.started_at]
    changed: list[DriftFinding] = []
    if rest:
        moved = {
            (a.resource_id, a.path)
            for a in PathActivity.objects.filter(
                resource_id__in={f.resource_id for f in rest}, report_ids__contains=[report_id]
            )
        }
        changed = [f for f in rest if (f.resource_id, f.path) in moved]
    resolved = list(
        DriftFinding.objects.filter(
            status=DriftFinding.Status.RESOLVED, resolved_at=report.started_at
        )
    )
    return {"opened": opened, "changed": changed, "resolved": resolved}


def expired_exception_paths(findings: list[DriftFinding], *, at: Any) -> set[tuple[str, str]]:
    """(resource id, path) of these findings that were accepted under an exception that had
    expired by ``at`` (so the finding reopened because the exception ran out)."""
    if not findings:
        return set()
    rows = DriftFinding.objects.filter(
        status=DriftFinding.Status.ACCEPTED,
        exception__expires_at__lte=at,
        resource_id__in={f.resource_id for f in findings},
    ).values_list("resource_id", "path")
    wanted = {(f.resource_id, f.path) for f in findings}
    return {row for row in rows if row in wanted}


def reports_finished_between(start: Any, end: Any) -> list[int]:
    """Ids of detection reports that finished in [start, end)."""
    from drift.models import DriftReport

    return list(
        DriftReport.objects.filter(finished_at__gte=start, finished_at__lt=end).values_list(
            "pk", flat=True
        )
    )
