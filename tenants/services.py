"""Writes for tenants: onboarding, settings versions, the polling schedule.

``onboard_tenant`` is the one way a tenant comes to exist (admin, API and
``manage.py create_tenant`` call it). Everything it does - tenant row, domain, schema
clone, settings, PeriodicTask - happens in one database transaction; PostgreSQL DDL is
transactional, so a failure at any step leaves neither a tenant row nor a schema.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from auditlog.services import record_platform_event_later
from tenants import schemas
from tenants.models import AzureCredential, Domain, Tenant
from tenants.models import Settings as TenantSettings
from tenants.selectors import current_settings, msp_default_settings
from tenants.validation import (
    SETTINGS_FIELDS,
    normalise_azure_tenant_id,
    schema_name_for_slug,
    validate_settings,
    validate_slug,
)

logger = logging.getLogger(__name__)

POLL_TASK_NAME = "configurations.tasks.poll_tenant"
POLL_QUEUE = "poll"


def polling_task_name(tenant: Tenant) -> str:
    """Name of the tenant's PeriodicTask in django-celery-beat."""
    return f"poll-tenant:{tenant.slug}"


def validate_new_tenant(*, name: str, slug: str, azure_tenant_id: str) -> dict[str, str]:
    """Check onboarding input; return the cleaned values or raise a field-keyed ValidationError."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Enter the customer's name."]
    try:
        validate_slug(slug)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        azure_tenant_id = normalise_azure_tenant_id(azure_tenant_id)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "slug" not in errors and Tenant.objects.filter(slug=slug).exists():
        errors["slug"] = [f"A tenant with slug '{slug}' already exists."]
    if (
        "slug" not in errors
        and Tenant.objects.filter(schema_name=schema_name_for_slug(slug)).exists()
    ):
        errors["slug"] = [f"The schema for slug '{slug}' is already taken."]
    if (
        "azure_tenant_id" not in errors
        and Tenant.objects.filter(azure_tenant_id=azure_tenant_id).exists()
    ):
        errors["azure_tenant_id"] = [f"Azure tenant {azure_tenant_id} is already onboarded."]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "slug": slug, "azure_tenant_id": azure_tenant_id}


def onboard_tenant(
    *,
    name: str,
    slug: str,
    azure_tenant_id: str,
    actor: str = "system",
    settings_overrides: dict[str, Any] | None = None,
    azure_credential: AzureCredential | None = None,
) -> Tenant:
    """Create a customer tenant with its schema, settings and polling schedule, all or nothing."""
    cleaned = validate_new_tenant(name=name, slug=slug, azure_tenant_id=azure_tenant_id)
    initial = msp_default_settings()
    initial.update(settings_overrides or {})
    validate_settings(initial)
    schemas.ensure_template_schema()
    with transaction.atomic():
        tenant = Tenant(
            schema_name=schema_name_for_slug(cleaned["slug"]),
            azure_credential=azure_credential,
            **cleaned,
        )
        tenant.save()
        Domain.objects.create(
            tenant=tenant, domain=f"{tenant.slug}.{settings.TENANT_DOMAIN_SUFFIX}", is_primary=True
        )
        schemas.clone_template_into(tenant.schema_name)
        version = TenantSettings.objects.create(tenant=tenant, changed_by=actor, **initial)
        sync_polling_task(tenant, version.polling_settings)
        record_platform_event_later(
            tenant.schema_name,
            actor=actor,
            action="tenant.onboarded",
            resource=f"tenant:{tenant.slug}",
        )
        if azure_credential is not None and version.polling_settings.get("enabled", True):
            request_poll(tenant, trigger="onboarding")
    logger.info("tenant onboarded", extra={"tenant_slug": tenant.slug, "actor": actor})
    return tenant


def update_settings(tenant: Tenant, *, actor: str, **changes: Any) -> TenantSettings:
    """Store a new settings version (the current one plus ``changes``) and resync the schedule."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a settings field."))
    validate_settings(changes)
    previous = current_settings(tenant)
    values = (
        {field: getattr(previous, field) for field in SETTINGS_FIELDS}
        if previous
        else msp_default_settings()
    )
    values.update(changes)
    if previous is not None and all(
        getattr(previous, field) == values[field] for field in SETTINGS_FIELDS
    ):
        return previous  # nothing changed: no new version, no schedule resync
    with transaction.atomic():
        version = TenantSettings.objects.create(tenant=tenant, changed_by=actor, **values)
        if not tenant.is_public:
            sync_polling_task(tenant, version.polling_settings)
    return version


def sync_polling_task(tenant: Tenant, polling_settings: dict[str, Any]) -> PeriodicTask:
    """Create or update the tenant's PeriodicTask from its polling settings."""
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=int(polling_settings["interval_minutes"]), period=IntervalSchedule.MINUTES
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=polling_task_name(tenant),
        defaults={
            "task": POLL_TASK_NAME,
            "interval": interval,
            "queue": POLL_QUEUE,
            "headers": json.dumps({"_schema_name": tenant.schema_name}),
            "kwargs": json.dumps({}),
            "enabled": bool(tenant.is_active and polling_settings.get("enabled", True)),
            "description": f"Collect the Azure configuration of {tenant.name}.",
        },
    )
    return task


def request_poll(tenant: Tenant, *, trigger: str) -> None:
    """Queue a collection pass of ``tenant`` now (sent when the caller's transaction commits)."""
    from driftdetector.celery import app

    transaction.on_commit(
        lambda: app.send_task(
            POLL_TASK_NAME,
            kwargs={"trigger": trigger},
            headers={"_schema_name": tenant.schema_name},
            queue=POLL_QUEUE,
        )
    )


def onboard_tenant_with_credential(
    *,
    name: str,
    slug: str,
    azure_tenant_id: str,
    actor: str,
    credential: dict[str, str],
) -> Tenant:
    """Save a new app registration and onboard a tenant that uses it, all or nothing."""
    with transaction.atomic():
        saved = save_azure_credential(**credential)
        return onboard_tenant(
            name=name,
            slug=slug,
            azure_tenant_id=azure_tenant_id,
            actor=actor,
            azure_credential=saved,
        )


def set_tenant_active(tenant: Tenant, *, active: bool) -> Tenant:
    """Activate or deactivate a tenant; an inactive tenant is not polled and cannot be entered."""
    with transaction.atomic():
        tenant.is_active = active
        tenant.save(update_fields=["is_active"])
        version = current_settings(tenant)
        if version is not None:
            sync_polling_task(tenant, version.polling_settings)
    return tenant


def save_azure_credential(
    *, name: str, client_id: str, client_secret: str = "", certificate_pem: str = ""
) -> AzureCredential:
    """Create or update the app registration ``name`` (secrets stored encrypted)."""
    from tenants.validation import normalise_guid

    client_id = normalise_guid(client_id, field="client_id")
    if not client_secret and not certificate_pem:
        raise ValidationError("Give a client secret or a certificate.")
    credential, _ = AzureCredential.objects.update_or_create(
        name=name,
        defaults={
            "client_id": client_id,
            "client_secret": client_secret,
            "certificate_pem": certificate_pem,
        },
    )
    return credential
