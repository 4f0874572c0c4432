"""Collected Azure configuration of one tenant (this schema): current state, history, passes."""

from __future__ import annotations

from django.db import models
from django.db.models import Case, F, Q, When


class PollRun(models.Model):
    """One collection pass over the tenant's Azure estate."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        PARTIAL = "partial", "partial"
        FAILED = "failed", "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=30, default="schedule")
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    restored = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    azure_calls = models.PositiveIntegerField(default=0)
    throttle_waits = models.PositiveIntegerField(default=0)
    throttle_wait_seconds = models.FloatField(default=0)
    duration_seconds = models.FloatField(null=True, blank=True)
    subscriptions_complete = models.JSONField(default=list, blank=True)
    subscriptions_incomplete = models.JSONField(default=list, blank=True)
    subscription_states = models.JSONField(
        default=dict,
        blank=True,
        help_text="Subscription id -> its Azure state (Enabled, Warned, PastDue, Disabled, "
        "Deleted) when the pass ran; only Enabled, Warned and PastDue ones are tombstoned.",
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"poll {self.pk} {self.status} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


class IsDistinctFrom(models.Func):
    """``a IS DISTINCT FROM b``: inequality where NULL equals NULL."""

    arg_joiner = " IS DISTINCT FROM "
    template = "(%(expressions)s)"
    output_field = models.BooleanField()


class Configuration(models.Model):
    """Current normalised configuration of one Azure resource (tombstoned, never deleted).

    A present resource was seen by the tenant's latest successful pass (a complete pass
    tombstones what it did not see), so "last seen" is that PollRun's time, not a column
    rewritten for every resource on every pass.
    """

    source = models.CharField(max_length=40, default="azure_resource_graph")
    resource_id = models.CharField(max_length=1024, unique=True, help_text="Lower-cased ARM id.")
    resource_type = models.CharField(max_length=200)
    resource_name = models.CharField(max_length=400)
    subscription_id = models.CharField(max_length=36)
    resource_group = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=60, blank=True)
    config_data = models.JSONField()
    config_hash = models.CharField(max_length=64)
    source_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="sha256 of the row as Azure returned it (and the rules version): an unchanged "
        "row skips normalisation.",
    )
    first_seen = models.DateTimeField()
    last_updated = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    detected_hash = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        help_text="config_hash as the last drift detection pass compared it (NULL: absent "
        "then); a row where it differs from the present hash is pending detection.",
    )
    # A stored column rather than the expression in a partial index's predicate: ANALYZE
    # keeps statistics on it, so the planner knows how few rows are pending and uses the
    # index (it has no estimate for a comparison of two columns and scans the table).
    drift_pending = models.GeneratedField(
        expression=IsDistinctFrom(
            F("detected_hash"), Case(When(deleted_at__isnull=True, then=F("config_hash")))
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["resource_id"]
        indexes = [
            models.Index(
                fields=["resource_id"],
                condition=Q(drift_pending=True),
                name="configuration_drift_pending",
            ),
            # Equality filters: plain b-trees, without the varchar_pattern_ops twins
            # db_index=True would add (only resource_id is filtered by prefix; its unique
            # constraint keeps that twin).
            models.Index(fields=["resource_type"], name="configuration_resource_type"),
            models.Index(fields=["subscription_id"], name="configuration_subscription"),
            models.Index(fields=["resource_group"], name="configuration_resource_group"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.resource_name}"


class ConfigurationHistory(models.Model):
    """One change of one resource: its previous and new normalised configuration."""

    class ChangeType(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        DELETED = "deleted", "deleted"
        RESTORED = "restored", "restored"

    # Indexed by history_by_configuration below, whose first column serves the foreign key.
    configuration = models.ForeignKey(
        Configuration, on_delete=models.CASCADE, related_name="history", db_index=False
    )
    previous_config = models.JSONField(null=True, blank=True)
    new_config = models.JSONField(null=True, blank=True)
    changed_at = models.DateTimeField(db_index=True)
    change_type = models.CharField(max_length=10, choices=ChangeType.choices)
    changed_by = models.CharField(max_length=255, default="unknown")
    client_type = models.CharField(
        max_length=100,
        blank=True,
        help_text="The client Azure names for the change (Azure Portal, an app id, ...), when "
        "the change watch saw it.",
    )
    poll_run = models.ForeignKey(
        PollRun, null=True, on_delete=models.SET_NULL, related_name="changes"
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = "configuration history"
        constraints = [
            models.UniqueConstraint(
                fields=["configuration", "poll_run"], name="history_one_change_per_resource_per_run"
            )
        ]
        indexes = [
            # One resource's history newest first (its history page, and detection's "who
            # changed it last") read in index order, without a sort.
            models.Index(
                fields=["configuration", "-changed_at", "-id"], name="history_by_configuration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.change_type} {self.configuration_id} @ {self.changed_at:%Y-%m-%d %H:%M:%S}"


class ResourceChange(models.Model):
    """One row of Azure's ``resourcechanges`` table the change watch has acted on.

    Its id makes the watch's overlapping reads idempotent: a change already here is not
    read again. Kept as long as Azure keeps changes (14 days), then purged.
    """

    change_id = models.CharField(max_length=1200, unique=True, help_text="Lower-cased row id.")
    resource_id = models.CharField(max_length=1024, db_index=True)
    change_type = models.CharField(max_length=10)
    changed_at = models.DateTimeField(db_index=True)
    changed_by = models.CharField(max_length=255, blank=True)
    client_type = models.CharField(max_length=100, blank=True)
    operation = models.CharField(max_length=200, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    poll_run = models.ForeignKey(
        PollRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="resource_changes"
    )
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.change_type} {self.resource_id} @ {self.changed_at:%Y-%m-%d %H:%M:%S}"
