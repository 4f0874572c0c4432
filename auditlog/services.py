"""Writes of audit records."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from auditlog.models import SigningLog

logger = logging.getLogger(__name__)


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


def client_ip_of(request: HttpRequest) -> str | None:
    """The client address Django saw (REMOTE_ADDR); a proxy's X-Forwarded-For is not trusted."""
    return request.META.get("REMOTE_ADDR") or None


def record_auth_event(
    *,
    request: HttpRequest | None,
    action: str,
    status: str = "success",
    user: Any = None,
    username: str = "",
    method: str = "password",
    detail: dict[str, Any] | None = None,
) -> SigningLog:
    """Write a sign-in, sign-out, failed sign-in or MFA event as a platform audit row.

    The row goes into the schema of the user's tenant (MSP staff and unknown users: the
    public schema), written at once rather than queued: an audit trail of authentication
    must not depend on the broker being up. ``action`` is e.g. ``login``,
    ``login_failed``, ``logout``, ``mfa_enabled``; ``detail`` must carry no secret.
    """
    from django_tenants.utils import get_public_schema_name, schema_context

    schema = get_public_schema_name()
    tenant = getattr(user, "tenant", None) if user is not None else None
    if tenant is not None:
        schema = tenant.schema_name
    actor = getattr(user, "username", "") or username or "(anonymous)"
    log_data: dict[str, Any] = {"method": method, **(detail or {})}
    if request is not None:
        log_data["user_agent"] = request.META.get("HTTP_USER_AGENT", "")[:300]
        log_data["path"] = request.path
    with schema_context(schema):
        row = record_platform_event(
            actor=actor,
            action=f"auth.{action}",
            resource=f"user:{actor}",
            status=status,
            client_ip=client_ip_of(request) if request is not None else None,
            log_data=log_data,
        )
    logger.info(
        "auth event",
        extra={"event": f"auth.{action}", "actor": actor, "status": status, "method": method},
    )
    return row
