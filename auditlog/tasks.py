"""Audit tasks (queue ``audit``); the tenant schema arrives in the message header."""

from __future__ import annotations

from typing import Any

from driftdetector.celery import app


@app.task(name="auditlog.tasks.record_platform_event")
def record_platform_event(log_id: str, actor: str, action: str, **fields: Any) -> int:
    """Write a platform audit event in the task's tenant schema; returns the row id."""
    from auditlog import services

    return services.record_platform_event(log_id=log_id, actor=actor, action=action, **fields).pk
