"""Public-schema state of the audit trail, read fleet-wide without visiting N schemas.

``auditlog`` is both a shared and a tenant app (its SigningLog lives in every schema);
these tables exist only in the public schema, which is on every tenant's search path.
"""

from __future__ import annotations

from django.db import models


class AuditCollector(models.Model):
    """Per customer tenant: how far its Graph audit logs have been read, and what failed."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="audit_collector"
    )
    signins_since = models.DateTimeField(
        null=True, blank=True, help_text="newest sign-in read in a completed pass"
    )
    audits_since = models.DateTimeField(
        null=True, blank=True, help_text="newest directory audit read in a completed pass"
    )
    signins_unavailable = models.CharField(max_length=200, blank=True)
    signins_unavailable_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    gap_warning = models.CharField(max_length=300, blank=True)
    rows_written = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit collector of {self.tenant}"


class SignInHour(models.Model):
    """Sign-ins of one tenant in one hour: the fleet page's failed / risky counts."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    hour = models.DateTimeField()
    total = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    risky = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "hour"], name="one_signin_hour_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.hour:%Y-%m-%d %H}:00"


class OutboxEntry(models.Model):
    """One audit row waiting to be shipped to Elasticsearch (deleted once acknowledged)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PARKED = "parked", "Parked (refused by the cluster)"

    doc_id = models.CharField(max_length=300, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    document = models.JSONField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "ELK outbox entry"
        verbose_name_plural = "ELK outbox"
        indexes = [models.Index(fields=["state", "id"], name="outbox_state_id")]

    def __str__(self) -> str:
        return self.doc_id


class ForwarderState(models.Model):
    """The ELK forwarder's one row: what it last shipped and what last went wrong."""

    last_shipped_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    shipped_total = models.PositiveBigIntegerField(default=0)
    already_there_total = models.PositiveBigIntegerField(default=0)
    parked_total = models.PositiveBigIntegerField(default=0)
    lag_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = "ELK forwarder"
        verbose_name_plural = "ELK forwarder"

    def __str__(self) -> str:
        return "ELK forwarder"
