"""Drift tasks (queue ``drift``); the tenant schema arrives in the message header.

A detection pass has a soft and a hard time limit (``DRIFT_TASK_SOFT_TIME_LIMIT`` /
``DRIFT_TASK_TIME_LIMIT`` seconds), so one tenant's pass holds a worker for at most its
own budget and never delays the other tenants' passes beyond it. Passes of one tenant
never overlap (:mod:`drift.locks`): a task that finds another pass of its tenant running
is sent again ``DRIFT_DEFER_SECONDS`` later, so the change that queued it is not lost.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.utils import timezone

from driftdetector.celery import app
from driftdetector.pipeline import enqueue, publish

logger = logging.getLogger(__name__)


DETECT_TASK = "drift.tasks.detect_drift"


@app.task(
    name=DETECT_TASK,
    soft_time_limit=settings.DRIFT_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.DRIFT_TASK_TIME_LIMIT,
)
def detect_drift(poll_run_id: int | None = None) -> dict[str, Any]:
    """Run a detection pass for the task's tenant (queued after each successful collection)."""
    from drift.locks import DetectionAlreadyRunning
    from drift.models import DriftReport
    from drift.services import run_exclusive_detection
    from tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    started = timezone.now()
    try:
        report = run_exclusive_detection(tenant, poll_run_id=poll_run_id)
    except DetectionAlreadyRunning:
        enqueue(
            DETECT_TASK,
            schema_name=tenant.schema_name,
            queue="drift",
            kwargs={"poll_run_id": poll_run_id},
            countdown=settings.DRIFT_DEFER_SECONDS,
        )
        return {"tenant": tenant.slug, "deferred": "another detection pass is running"}
    except SoftTimeLimitExceeded:
        # The pass's transaction rolled back; a report with the error makes the gap visible.
        message = f"stopped after {settings.DRIFT_TASK_SOFT_TIME_LIMIT}s (soft time limit)"
        DriftReport.objects.create(started_at=started, finished_at=timezone.now(), error=message)
        logger.error("drift pass of %s %s", tenant.slug, message)
        return {"tenant": tenant.slug, "error": message}
    publish("detection_finished", schema_name=tenant.schema_name, report_id=report.pk)
    return {"tenant": tenant.slug, "report": report.pk, "by_severity": report.by_severity}
