"""Writes of audit records: platform events and changes, Azure sign-ins and directory audits.

Every row is written in the schema of the tenant it concerns. When ELK forwarding is on
(``ELK_URL`` set) each new row also gets an outbox entry in the public schema, in the same
transaction, so the forwarder ships exactly the rows that exist.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from psycopg2.extras import execute_values

from auditlog import mapping
from auditlog.context import current_actor
from auditlog.models import SigningLog
from driftdetector import metrics

logger = logging.getLogger(__name__)

# Field names whose values never enter the audit log (only the fact that they changed).
SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "certificate_pem",
        "secret",
        "previous_secret",
        "password",
        "key_hash",
        "token",
        "token_hash",
        "api_key",
    }
)
REDACTED = "(changed, not shown)"


def elk_enabled() -> bool:
    """True when ``ELK_URL`` is set: new rows then get an outbox entry."""
    return bool(getattr(settings, "ELK_URL", ""))


def _current_tenant_facts() -> tuple[Any, str, str] | None:
    from tenants.models import Tenant

    schema = connection.schema_name
    tenant = getattr(connection, "tenant", None)
    if (
        tenant is None
        or getattr(tenant, "schema_name", None) != schema
        or not getattr(tenant, "pk", None)
    ):
        tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None:
        return None
    return tenant, tenant.azure_tenant_id, tenant.name


def queue_for_shipping(rows: Iterable[dict[str, Any]]) -> int:
    """Add outbox entries (public schema) for rows just written in the current schema."""
    if not elk_enabled():
        return 0
    facts = _current_tenant_facts()
    if facts is None:
        return 0
    tenant, azure_tenant_id, name = facts
    created = timezone.now()
    values = [
        (
            mapping.document_id(tenant.schema_name, row["source"], row["log_id"]),
            tenant.pk,
            json.dumps(
                mapping.ecs_document(
                    **{k: row[k] for k in mapping.DOCUMENT_FIELDS},
                    tenant_id=azure_tenant_id,
                    tenant_name=name,
                    created=created,
                ),
                default=str,
            ),
            row["timestamp"],
            created,
        )
        for row in rows
    ]
    if not values:
        return 0
    # One multi-row INSERT (the ORM's bulk_create spent as long building it as the
    # database took to run it).
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            "INSERT INTO public.auditlog_fleet_outboxentry"
            " (doc_id, tenant_id, document, occurred_at, created_at, state, attempts,"
            " last_error) VALUES %s ON CONFLICT (doc_id) DO NOTHING",
            values,
            template="(%s, %s, %s::jsonb, %s, %s, 'pending', 0, '')",
            page_size=1000,
        )
    return len(values)


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
    row, created = SigningLog.objects.get_or_create(
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
    if created:
        queue_for_shipping([_row_dict(row)])
    return row


def _row_dict(row: SigningLog) -> dict[str, Any]:
    return {field: getattr(row, field) for field in mapping.DOCUMENT_FIELDS}


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


# --- Platform change log -----------------------------------------------------------------


def _shown(field: str, value: Any) -> Any:
    if field in SECRET_FIELDS or field.endswith(("_secret", "_password", "_key")):
        return REDACTED if value else ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)


def changed_fields(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """``{field: {"before": .., "after": ..}}`` for the fields whose value differs.

    Secret fields show only that they changed; the summary is what NetBox's change log
    shows as its diff.
    """
    before, after = before or {}, after or {}
    out: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        out[field] = {"before": _shown(field, old), "after": _shown(field, new)}
        if field in SECRET_FIELDS or field.endswith(("_secret", "_password", "_key")):
            out[field] = {"before": REDACTED if old else "", "after": REDACTED if new else ""}
    return out


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of a model instance (for a before/after pair)."""
    return {field: getattr(obj, field, None) for field in fields}


def record_change(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: str | None = None,
    schema_name: str | None = None,
    status: str = "success",
    extra: dict[str, Any] | None = None,
) -> SigningLog:
    """Record one platform change (create/update/delete/state change) as a SigningLog row.

    Called by the services that make the change, inside their transaction, so the change
    and its record commit together. ``actor`` defaults to the request's or command's
    actor (``auditlog.context``); the client IP and request id come from the same context.
    ``schema_name`` is the tenant the change concerns (default: the current schema).
    """
    from django_tenants.utils import schema_context

    from driftdetector.logging import request_id_var

    context = current_actor()
    name = actor or context.name
    data: dict[str, Any] = {
        "object_type": object_type,
        "object_id": str(object_id),
        "changes": changed_fields(before, after),
        "via": context.via,
        "request_id": request_id_var.get(),
        **(extra or {}),
    }
    with schema_context(schema_name or connection.schema_name):
        return record_platform_event(
            actor=name,
            action=action,
            resource=f"{object_type}:{object_id}",
            status=status,
            client_ip=context.client_ip,
            log_data=data,
        )


# --- Azure sign-ins and directory audits ---------------------------------------------------

_INSERT = """
INSERT INTO auditlog_signinglog
    (source, log_id, timestamp, actor, action, resource, status, client_ip, log_data, ingested_at)
VALUES %s
ON CONFLICT (source, log_id) DO NOTHING
RETURNING log_id
"""


def write_graph_rows(*, source: str, objects: list[dict[str, Any]], now: datetime) -> int:
    """Store Graph audit objects in the current tenant schema; returns the rows newly written.

    One INSERT ... ON CONFLICT DO NOTHING per page: an object already stored (an overlap,
    a re-read page) writes nothing, and only new rows are summarised and queued for ELK.
    """
    convert = (
        mapping.sign_in_fields
        if source == mapping.SOURCE_SIGNIN
        else mapping.directory_audit_fields
    )
    rows: dict[str, dict[str, Any]] = {}
    for obj in objects:
        fields = convert(obj, now=now)
        fields["source"] = source
        rows.setdefault(fields["log_id"], fields)
    if not rows:
        return 0
    values = [
        (
            source,
            r["log_id"],
            r["timestamp"],
            r["actor"],
            r["action"][:100],
            r["resource"],
            r["status"][:50],
            r["client_ip"],
            json.dumps(r["log_data"], default=str),
            now,
        )
        for r in rows.values()
    ]
    with connection.cursor() as cursor:
        inserted = execute_values(cursor.cursor, _INSERT, values, page_size=1000, fetch=True)
    new = [rows[log_id] for (log_id,) in inserted]
    if source == mapping.SOURCE_SIGNIN:
        _count_sign_ins(new)
    queue_for_shipping(new)
    metrics.audit_rows(source, len(new))
    return len(new)


def _count_sign_ins(rows: list[dict[str, Any]]) -> None:
    """Add new sign-ins to the public per-hour summary (total, failed, risky)."""
    from collections import Counter

    facts = _current_tenant_facts()
    if facts is None or not rows:
        return
    tenant = facts[0]
    buckets: dict[datetime, Counter[str]] = {}
    for row in rows:
        hour = row["timestamp"].replace(minute=0, second=0, microsecond=0)
        counts = buckets.setdefault(hour, Counter())
        counts["total"] += 1
        counts["failed"] += row["status"] == "failure"
        counts["risky"] += bool(row["log_data"].get("risky"))
    values = [(tenant.pk, hour, c["total"], c["failed"], c["risky"]) for hour, c in buckets.items()]
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            """
            INSERT INTO public.auditlog_fleet_signinhour (tenant_id, hour, total, failed, risky)
            VALUES %s
            ON CONFLICT (tenant_id, hour) DO UPDATE SET
                total = auditlog_fleet_signinhour.total + EXCLUDED.total,
                failed = auditlog_fleet_signinhour.failed + EXCLUDED.failed,
                risky = auditlog_fleet_signinhour.risky + EXCLUDED.risky
            """,
            values,
        )
