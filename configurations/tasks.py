"""Collection tasks (queue ``poll``); the tenant schema arrives in the message header."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection

from driftdetector.celery import app
from driftdetector.pipeline import publish

logger = logging.getLogger(__name__)


@app.task(name="configurations.tasks.poll_tenant")
def poll_tenant(trigger: str = "schedule") -> dict[str, Any]:
    """Run one collection pass for the task's tenant (scheduled by the tenant's PeriodicTask)."""
    from configurations.locks import PassAlreadyRunning
    from configurations.services import PassOptions, run_collection_pass
    from tenants.models import Tenant

    if connection.schema_name == "public":
        raise ValueError("poll_tenant needs a tenant schema in its _schema_name header")
    tenant = Tenant.objects.select_related("azure_credential").get(
        schema_name=connection.schema_name
    )
    if not tenant.is_active:
        return {"tenant": tenant.slug, "skipped": "tenant inactive"}
    try:
        run = run_collection_pass(
            tenant,
            PassOptions(trigger=trigger, hash_short_circuit=settings.COLLECTION_HASH_SHORT_CIRCUIT),
        )
    except PassAlreadyRunning:
        logger.info("pass of %s skipped: another one is running", tenant.slug)
        return {"tenant": tenant.slug, "skipped": "another pass is running"}
    publish(
        "collection_finished", schema_name=tenant.schema_name, poll_run_id=run.pk, status=run.status
    )
    return {"tenant": tenant.slug, "poll_run": run.pk, "status": run.status}
