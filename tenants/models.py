"""Customer tenants (one PostgreSQL schema each), their domains and versioned settings."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


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
