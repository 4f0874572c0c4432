"""Audit tasks (queue ``audit``); a tenant's schema arrives in the message header."""

from __future__ import annotations

import logging
from typing import Any

from driftdetector.celery import app

logger = logging.getLogger(__name__)

COLLECT_TASK = "auditlog.tasks.collect_audit"


@app.task(name="auditlog.tasks.record_platform_event")
def record_platform_event(log_id: str, actor: str, action: str, **fields: Any) -> int:
    """Write a platform audit event in the task's tenant schema; returns the row id."""
    from auditlog import services

    return services.record_platform_event(log_id=log_id, actor=actor, action=action, **fields).pk


@app.task(name=COLLECT_TASK)
def collect_audit() -> dict[str, Any]:
    """Read the task's tenant's Azure sign-ins and directory audits from Microsoft Graph."""
    from auditlog.collection import collect_tenant_audit
    from tenants.selectors import task_tenant

    tenant = task_tenant(COLLECT_TASK)
    if not tenant.is_active or tenant.azure_credential is None:
        return {"tenant": tenant.slug, "skipped": "inactive or no credential"}
    return collect_tenant_audit(tenant).as_dict()


@app.task(name="auditlog.tasks.schedule_audit_passes")
def schedule_audit_passes() -> int:
    """Send the audit pass of every tenant whose interval has passed (beat, public schema)."""
    from auditlog.scheduling import due_tenants

    sent = 0
    for schema_name in due_tenants():
        app.send_task(COLLECT_TASK, headers={"_schema_name": schema_name}, queue="audit")
        sent += 1
    return sent


@app.task(name="auditlog.tasks.forward_to_elk")
def forward_to_elk() -> dict[str, Any]:
    """Ship the outbox to Elasticsearch (no-op while ELK_URL is unset)."""
    from auditlog.forwarder import forward_pending

    outcome = forward_pending()
    return outcome.__dict__


@app.task(name="auditlog.tasks.purge_expired")
def purge_expired() -> dict[str, int]:
    """Delete audit rows older than each tenant's retention, in batches."""
    from auditlog.scheduling import purge_all

    return purge_all()
