"""Approved state (Baseline), detection passes (DriftReport) and their findings (DriftFinding)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from drift.choices import SEVERITIES, rank_expression


class Baseline(models.Model):
    """The approved configuration of the tenant; one baseline is active at a time."""

    name = models.CharField(max_length=200)
    scope = models.CharField(
        max_length=300, default="tenant", help_text="tenant, or the prefix it covers"
    )
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)
    revision = models.PositiveIntegerField(
        default=0, help_text="bumped whenever entries are accepted into it after creation"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="one_active_baseline"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BaselineEntry(models.Model):
    """The approved normalised configuration of one resource."""

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="entries")
    resource_id = models.CharField(max_length=1024)
    resource_type = models.CharField(max_length=200)
    config = models.JSONField()
    config_hash = models.CharField(max_length=64)
    accepted_by = models.CharField(max_length=150, blank=True)
    accepted_at = models.DateTimeField()
    normalized_with = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="fingerprint of the normalisation rules config is in the form of (empty: "
        "older rules), so detection re-normalises an entry only when the rules changed",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "resource_id"], name="one_entry_per_resource"
            )
        ]

    def __str__(self) -> str:
        return self.resource_id


class DriftReport(models.Model):
    """One detection pass: what was compared and what it found."""

    poll_run = models.ForeignKey(
        "configurations.PollRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    baseline = models.ForeignKey(Baseline, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    resources_compared = models.PositiveIntegerField(default=0)
    resources_drifted = models.PositiveIntegerField(default=0)
    by_severity = models.JSONField(default=dict)
    by_kind = models.JSONField(default=dict)
    opened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(
        default=0, help_text="changes covered by an unexpired exception"
    )
    ignored = models.PositiveIntegerField(default=0, help_text="changes matched by ignore rules")
    error = models.TextField(blank=True)
    detection_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="fingerprint of what the pass compared against (baseline and its revision, "
        "rules, exceptions, detection code); a later pass with the same key examines only "
        "the resources changed since",
    )
    full_check_at = models.DateTimeField(
        null=True, blank=True, help_text="when the last pass that compared every resource ran"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"drift report {self.pk} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


class DriftFinding(models.Model):
    """One value that differs from the baseline; updated, not duplicated, while it persists."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        ACKNOWLEDGED = "acknowledged", "acknowledged"
        ACCEPTED = "accepted", "accepted"
        RESOLVED = "resolved", "resolved"

    # One vocabulary, least severe first (drift.choices); sort by rank, never by name.
    Severity = models.TextChoices("Severity", [(s.upper(), (s, s)) for s in SEVERITIES])

    resource_id = models.CharField(max_length=1024)
    resource_type = models.CharField(max_length=200)
    kind = models.CharField(max_length=10)
    path = models.CharField(max_length=2000, blank=True)
    baseline_value = models.JSONField(null=True, blank=True)
    current_value = models.JSONField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    matched_rule = models.CharField(max_length=200)
    changed_by = models.CharField(max_length=255, default="unknown")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    status_changed_by = models.CharField(max_length=150, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_report = models.ForeignKey(
        DriftReport, null=True, on_delete=models.SET_NULL, related_name="findings"
    )
    flapping = models.BooleanField(
        default=False,
        help_text="the path changed more often than the tenant's flapping threshold allows",
    )
    exception = models.ForeignKey(
        "DriftException",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        help_text="the exception that accepted this deviation",
    )

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_id", "path"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="one_unresolved_finding_per_path",
            )
        ]
        indexes = [
            # The API's ?order=severity pages (most severe first, newest first within a
            # rank): read from this index instead of sorting every finding per page.
            models.Index(rank_expression().desc(), F("id").desc(), name="finding_severity_rank_id"),
            # Equality filters only: plain b-trees, without the varchar_pattern_ops twin
            # that db_index=True adds to a CharField for LIKE 'x%' (nothing filters
            # findings by prefix). Every index is maintained by every pass's writes and
            # opened by the planner for every statement on the table.
            models.Index(fields=["resource_id"], name="finding_resource_id"),
            models.Index(fields=["resource_type"], name="finding_resource_type"),
            models.Index(fields=["severity"], name="finding_severity"),
            models.Index(fields=["status"], name="finding_status"),
        ]

    def __str__(self) -> str:
        return f"{self.severity} {self.kind} {self.resource_id} {self.path}"


#: The statuses of a finding still to be dealt with (what "unresolved" means everywhere).
UNRESOLVED_STATUSES: tuple[str, ...] = (
    DriftFinding.Status.OPEN.value,
    DriftFinding.Status.ACKNOWLEDGED.value,
)


class DriftException(models.Model):
    """An accepted deviation: a value that may differ from the baseline until it expires.

    It suppresses a change only while the current value equals ``accepted_value`` and
    ``expires_at`` is in the future; patterns are globs over the lower-cased resource id
    and over the dotted JSON path.
    """

    resource_pattern = models.CharField(max_length=1024)
    path_pattern = models.CharField(max_length=2000)
    accepted_value = models.JSONField(null=True, blank=True)
    reason = models.TextField()
    approved_by = models.CharField(max_length=150)
    approved_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-approved_at"]

    def __str__(self) -> str:
        return f"{self.resource_pattern} {self.path_pattern} (until {self.expires_at:%Y-%m-%d})"


class PathActivity(models.Model):
    """Recent passes in which one resource path's drift opened, changed value or resolved.

    Only paths with such an event are written, so a quiet pass touches no row. A path
    with more than N events within the last M passes is flapping.
    """

    resource_id = models.CharField(max_length=1024)
    path = models.CharField(max_length=2000)
    report_ids = models.JSONField(default=list)
    flapping = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource_id", "path"], name="one_activity_per_path")
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.path}"


class DriftedResource(models.Model):
    """A resource that differs from the active baseline, as the last pass left it: the
    kind of drift and how many of its changes were ignored or covered by an exception.

    Lets a pass that examines only the changed resources report the tenant's totals
    without comparing the unchanged ones again.
    """

    resource_id = models.CharField(max_length=1024, unique=True)
    kind = models.CharField(max_length=10)
    ignored = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.resource_id} ({self.kind})"
