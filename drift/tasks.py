"""Drift tasks (queue ``drift``); the tenant schema arrives in the message header."""

from __future__ import annotations

from typing import Any

from django.db import connection

from driftdetector.celery import app
from driftdetector.pipeline import publish


@app.task(name="drift.tasks.detect_drift")
def detect_drift(poll_run_id: int | None = None) -> dict[str, Any]:
    """Run a detection pass for the task's tenant (queued after each successful collection)."""
    from drift.services import run_detection
    from tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    report = run_detection(tenant, poll_run_id=poll_run_id)
    publish("detection_finished", schema_name=tenant.schema_name, report_id=report.pk)
    return {"tenant": tenant.slug, "report": report.pk, "by_severity": report.by_severity}
