"""Collection tasks (queue ``poll``); the tenant schema arrives in the message header."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from driftdetector.celery import app
from driftdetector.pipeline import enqueue, publish

logger = logging.getLogger(__name__)

POLL_TASK = "configurations.tasks.poll_tenant"
WATCH_TASK = "configurations.tasks.watch_tenant"


@app.task(name=POLL_TASK)
def poll_tenant(trigger: str = "schedule") -> dict[str, Any]:
    """Run one collection pass for the task's tenant (scheduled by the tenant's PeriodicTask)."""
    from configurations.locks import PassAlreadyRunning
    from configurations.services import PassOptions, run_collection_pass
    from tenants.selectors import task_tenant

    tenant = task_tenant(POLL_TASK)
    if not tenant.is_active:
        return {"tenant": tenant.slug, "skipped": "tenant inactive"}
    try:
        run = run_collection_pass(
            tenant,
            PassOptions(trigger=trigger, hash_short_circuit=settings.COLLECTION_HASH_SHORT_CIRCUIT),
        )
    except PassAlreadyRunning as exc:
        if exc.holder == "watch":  # a watch takes seconds: come back instead of losing the pass
            enqueue(
                POLL_TASK,
                schema_name=tenant.schema_name,
                queue="poll",
                kwargs={"trigger": trigger},
                countdown=settings.WATCH_DEFER_SECONDS,
            )
            return {"tenant": tenant.slug, "deferred": "a change watch is running"}
        logger.info("pass of %s skipped: another one is running", tenant.slug)
        return {"tenant": tenant.slug, "skipped": "another pass is running"}
    publish(
        "collection_finished", schema_name=tenant.schema_name, poll_run_id=run.pk, status=run.status
    )
    return {"tenant": tenant.slug, "poll_run": run.pk, "status": run.status}


@app.task(name=WATCH_TASK)
def watch_tenant() -> dict[str, Any]:
    """Follow the task's tenant's Azure change feed once (sent by ``schedule_watches``)."""
    from configurations.watch import run_watch
    from tenants.selectors import task_tenant

    tenant = task_tenant(WATCH_TASK)
    if not tenant.is_active or tenant.azure_credential is None:
        return {"tenant": tenant.slug, "skipped": "inactive or no credential"}
    return run_watch(tenant).as_dict()


@app.task(name="configurations.tasks.schedule_watches", ignore_result=True)
def schedule_watches() -> int:
    """Beat task (public schema): send the change watch of every tenant that is due.

    A watch not started within its interval expires: the next one reads the same changes.
    """
    from configurations.watch import due_watches

    due = due_watches()
    for schema_name, interval in due:
        app.send_task(
            WATCH_TASK, headers={"_schema_name": schema_name}, queue="poll", expires=interval
        )
    return len(due)
