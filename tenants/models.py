"""Customer tenants (one PostgreSQL schema each), their domains and versioned settings."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from accounts.fields import EncryptedTextField


class Tenant(TenantMixin):
    """A customer Azure tenant; the MSP itself is the tenant whose schema is ``public``.

    Schemas are created by ``tenants.services.onboard_tenant`` (cloned from the template
    schema inside the onboarding transaction), never as a side effect of ``save()``.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    azure_tenant_id = models.CharField(
        "Azure tenant id", max_length=36, unique=True, help_text="Entra ID tenant GUID."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    azure_credential = models.ForeignKey(
        "tenants.AzureCredential",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tenants",
        help_text="App registration used to read this tenant's Azure configuration.",
    )

    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]
        permissions = [("enter_any_tenant", "Can enter any customer tenant")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        """True for the MSP's own tenant (the public schema)."""
        from django_tenants.utils import get_public_schema_name

        return self.schema_name == get_public_schema_name()


class Domain(DomainMixin):
    """Hostname of a tenant (django-tenants); routing itself is by ``/t/<slug>/``."""


class Settings(models.Model):
    """One version of a tenant's settings; the newest row is in force, older rows are history."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="settings_versions")
    notification_settings = models.JSONField(default=dict)
    polling_settings = models.JSONField(default=dict)
    drift_thresholds = models.JSONField(default=dict)
    last_updated = models.DateTimeField(auto_now_add=True)
    changed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = "settings version"
        verbose_name_plural = "settings versions"
        ordering = ["-last_updated", "-id"]
        indexes = [models.Index(fields=["tenant", "-last_updated", "-id"])]

    def __str__(self) -> str:
        return f"{self.tenant} settings @ {self.last_updated:%Y-%m-%d %H:%M:%S}"


class AzureCredential(models.Model):
    """An Entra ID app registration used to read customer tenants' Azure configuration.

    Usually one multi-tenant registration of the MSP serves every customer tenant; a
    customer may have its own. The secret and certificate are encrypted at rest and are
    never shown again after entry.
    """

    name = models.CharField(max_length=100, unique=True)
    client_id = models.CharField("application (client) id", max_length=36)
    client_secret = EncryptedTextField(blank=True, default="")
    certificate_pem = EncryptedTextField(
        "certificate (PEM with private key)", blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class TenantStatus(models.Model):
    """Per-tenant summary in the public schema, so the fleet view reads one table, not N schemas."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="status")
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_status = models.CharField(max_length=10, blank=True)
    last_poll_error = models.TextField(blank=True)
    last_successful_poll_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    resource_count = models.PositiveIntegerField(default=0)
    open_findings = models.JSONField(
        default=dict, blank=True, help_text="open findings by severity"
    )
    last_detection_at = models.DateTimeField(null=True, blank=True)
    failing_channels = models.JSONField(
        default=list, blank=True, help_text="notification channels disabled after failures"
    )

    class Meta:
        verbose_name_plural = "tenant statuses"

    def __str__(self) -> str:
        return f"{self.tenant} status"


def _severity_total(field: str) -> models.Expression:
    """Sum of the per-severity counts in the JSON object ``field`` (missing keys count 0)."""
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast, Coalesce

    from drift.choices import SEVERITIES

    return sum(
        (
            Coalesce(Cast(KT(f"{field}__{severity}"), models.IntegerField()), models.Value(0))
            for severity in SEVERITIES
        ),
        start=models.Value(0),
    )


class FindingTrendPoint(models.Model):
    """Open findings by severity of one tenant on one day (the last pass of that day wins).

    Kept in the public schema so the fleet page draws 30-day trends from one table.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="finding_trend")
    day = models.DateField()
    open_findings = models.JSONField(default=dict)
    # Kept by PostgreSQL from open_findings: the fleet reads 30 days x every tenant, and
    # extracting four JSON keys from 30,000 rows was most of that read.
    total = models.GeneratedField(
        expression=_severity_total("open_findings"),
        output_field=models.IntegerField(),
        db_persist=True,
        help_text="open findings of all severities",
    )

    class Meta:
        ordering = ["tenant", "day"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day"], name="one_trend_point_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.day}"


class ChangeWatch(models.Model):
    """Per customer tenant: how far its change watch has read Azure's change feed.

    In the public schema, so the fleet-wide sweep finds due tenants with one query; the
    watch updates it in the same transaction as the changes it wrote (the watermark moves
    only with them).
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="change_watch")
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="every change up to this time is committed"
    )
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    changes_applied = models.PositiveBigIntegerField(default=0)
    queries = models.PositiveBigIntegerField(
        default=0, help_text="Resource Graph queries the watch has sent"
    )

    def __str__(self) -> str:
        return f"change watch of {self.tenant}"
