"""Writes of audit records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from auditlog.models import SigningLog


def record_platform_event(
    *,
    actor: str,
    action: str,
    resource: str = "",
    status: str = "success",
    client_ip: str | None = None,
    log_data: dict[str, Any] | None = None,
    log_id: str | None = None,
    timestamp: datetime | None = None,
) -> SigningLog:
    """Write one platform audit event into the current tenant schema (idempotent by ``log_id``)."""
    row, _ = SigningLog.objects.get_or_create(
        source=SigningLog.Source.PLATFORM,
        log_id=log_id or uuid.uuid4().hex,
        defaults={
            "timestamp": timestamp or timezone.now(),
            "actor": actor,
            "action": action,
            "resource": resource,
            "status": status,
            "client_ip": client_ip,
            "log_data": log_data or {},
        },
    )
    return row


def record_platform_event_later(schema_name: str, *, actor: str, action: str, **fields: Any) -> str:
    """Queue a platform audit event for a tenant schema, sent only once the caller commits.

    The event is written by the ``audit`` queue's worker in that schema; the log id is
    chosen now (and returned), so a retried or duplicated message still writes one row.
    """
    from django.db import transaction

    from auditlog.tasks import record_platform_event as task

    log_id = uuid.uuid4().hex
    transaction.on_commit(
        lambda: task.apply_async(
            kwargs={"log_id": log_id, "actor": actor, "action": action, **fields},
            headers={"_schema_name": schema_name},
        )
    )
    return log_id
