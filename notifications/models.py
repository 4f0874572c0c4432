"""Notification channels, rules, deliveries (the ERD's NotificationLog) with attempts, snoozes.

A Delivery is one message: one rule x channel x group of findings (one detection pass of
one tenant), with an idempotency key that is also the webhook-id a receiver dedupes on.
Its items say which finding produced which event, so a "resolved" goes to the channels
that got the "opened". URLs and secrets are encrypted at rest.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.fields import EncryptedTextField
from drift.severity import SEVERITIES
from notifications.choices import DEFAULT_EVENTS, ChannelKind, DeliveryStatus, Event, Mode

SEVERITY_CHOICES = [(s, s) for s in SEVERITIES]


def _default_events() -> list[str]:
    return [str(e) for e in DEFAULT_EVENTS]


class ChannelBase(models.Model):
    """Where messages go: email addresses, or a Slack / Teams / webhook URL (shared by the
    tenant's channels and the MSP's, which live in the public schema)."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    addresses = models.JSONField(default=list, blank=True, help_text="email recipients")
    url = EncryptedTextField(blank=True, help_text="webhook URL (write-only, encrypted)")
    secret = EncryptedTextField(
        blank=True, help_text="Standard Webhooks signing secret, whsec_... (write-only)"
    )
    previous_secret = EncryptedTextField(
        blank=True, help_text="the secret before the last rotation, also signed with until expiry"
    )
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    #: True for the MSP's channels (public schema), whose deliveries carry msp_* ids.
    is_msp = False

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Channel(ChannelBase):
    """A tenant's own channel."""

    class Meta(ChannelBase.Meta):
        abstract = False


class RuleBase(models.Model):
    """Which events of which findings go to which channels, when (shared by the tenant's
    rules and the MSP's)."""

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=10, choices=SEVERITY_CHOICES, default="high")
    resource_types = models.JSONField(
        default=list, blank=True, help_text="resource-type globs; empty means every type"
    )
    events = models.JSONField(default=_default_events)
    poll_failing_passes = models.PositiveIntegerField(
        default=3, help_text="poll_failing fires after this many failed passes in a row"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IMMEDIATE)
    digest_time = models.TimeField(null=True, blank=True, help_text="daily digest time")
    timezone = models.CharField(max_length=64, default="UTC")
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    critical_bypasses_quiet_hours = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    is_msp = False

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationRule(RuleBase):
    """A tenant's own rule."""

    channels = models.ManyToManyField(Channel, related_name="rules")

    class Meta(RuleBase.Meta):
        abstract = False


class Delivery(models.Model):
    """One message to one channel (NotificationLog); retried until sent or dead."""

    rule = models.ForeignKey(
        NotificationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    channel_name = models.CharField(max_length=100)
    # Deliveries of MSP rules (public schema) live here too, with plain ids: a foreign key
    # across schemas would make deleting an MSP channel touch every tenant's table.
    msp_rule_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    msp_channel_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    report_id = models.PositiveIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    summary = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    enqueued_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="a send task is queued; the sweep leaves it alone till then",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.summary} -> {self.channel_name} ({self.status})"


class DeliveryItem(models.Model):
    """One finding's event inside a delivery."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="items")
    finding = models.ForeignKey(
        "drift.DriftFinding", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    severity = models.CharField(max_length=10)

    class Meta:
        indexes = [models.Index(fields=["finding", "event"])]

    def __str__(self) -> str:
        return f"{self.event} finding {self.finding_id}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: what the receiver answered and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    latency_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    smtp_reply = models.CharField(max_length=300, blank=True)
    response_snippet = models.TextField(blank=True)
    error = models.TextField(blank=True)
    success = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}"


class Snooze(models.Model):
    """A time-boxed silence on one finding or one rule (there is no permanent mute)."""

    finding = models.ForeignKey(
        "drift.DriftFinding", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(
        NotificationRule, null=True, blank=True, on_delete=models.CASCADE, related_name="snoozes"
    )
    until = models.DateTimeField()
    reason = models.TextField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-until"]
        constraints = [
            models.CheckConstraint(
                condition=Q(finding__isnull=False, rule__isnull=True)
                | Q(finding__isnull=True, rule__isnull=False),
                name="snooze_on_finding_or_rule",
            )
        ]

    def __str__(self) -> str:
        target = f"finding {self.finding_id}" if self.finding_id else f"rule {self.rule_id}"
        return f"snooze {target} until {self.until:%Y-%m-%d %H:%M}"


class EvaluatedReport(models.Model):
    """A detection report whose notifications were worked out (written with its deliveries),
    so the sweep can find reports whose evaluation was lost with a killed worker."""

    report_id = models.PositiveIntegerField(unique=True)
    evaluated_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"report {self.report_id} evaluated"
