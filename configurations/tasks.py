"""Collection tasks (queue ``poll``); the tenant schema arrives in the message header."""

from __future__ import annotations

import logging

from django.db import connection

from driftdetector.celery import app

logger = logging.getLogger(__name__)


@app.task(name="configurations.tasks.poll_tenant")
def poll_tenant() -> str:
    """Run one collection pass for the task's tenant (scheduled by the tenant's PeriodicTask)."""
    logger.info("poll requested", extra={"schema": connection.schema_name})
    return connection.schema_name
