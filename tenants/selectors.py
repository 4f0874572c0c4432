"""Reads of tenants and their settings."""

from __future__ import annotations

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from tenants.defaults import default_settings
from tenants.models import Settings as TenantSettings
from tenants.models import Tenant


def public_tenant() -> Tenant:
    """The MSP's own tenant (schema ``public``)."""
    return Tenant.objects.get(schema_name=get_public_schema_name())


def customer_tenants() -> QuerySet[Tenant]:
    """Every tenant except the MSP's own."""
    return Tenant.objects.exclude(schema_name=get_public_schema_name())


def active_tenant_by_slug(slug: str) -> Tenant | None:
    """The active tenant with this slug, or None (callers answer 404 either way)."""
    return Tenant.objects.filter(slug=slug, is_active=True).first()


def current_settings(tenant: Tenant) -> TenantSettings | None:
    """The settings version in force for ``tenant`` (its newest row)."""
    return TenantSettings.objects.filter(tenant=tenant).order_by("-last_updated", "-id").first()


def msp_default_settings() -> dict[str, dict]:
    """The documents a new tenant starts from: the MSP's current settings, else the shipped ones."""
    msp = current_settings(public_tenant())
    if msp is None:
        return default_settings()
    return {
        "notification_settings": msp.notification_settings,
        "polling_settings": msp.polling_settings,
        "drift_thresholds": msp.drift_thresholds,
    }


def fleet_rows() -> list[dict]:
    """One row per customer tenant for the fleet page: identity, schedule, settings age."""
    from django_celery_beat.models import PeriodicTask

    tasks = {
        task.name: task
        for task in PeriodicTask.objects.filter(name__startswith="poll-tenant:").select_related(
            "interval"
        )
    }
    rows = []
    for tenant in customer_tenants().select_related("status").order_by("name"):
        task = tasks.get(f"poll-tenant:{tenant.slug}")
        rows.append(
            {
                "tenant": tenant,
                "status": getattr(tenant, "status", None),
                "poll_every": str(task.interval) if task and task.interval else "not scheduled",
                "poll_enabled": bool(task and task.enabled),
            }
        )
    return rows
