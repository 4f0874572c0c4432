"""The SQL of a detection pass: one statement per kind of read or write (connection already
in the tenant schema).

A pass is dominated by round trips, not by comparing: each statement here replaces
several ORM queries (the active baseline, the hash comparison and the counts in one; the
approved and present configs with each resource's latest caller in one; each kind of
finding write, for every finding at once, in one). Values arrive as arrays and are
unnested in PostgreSQL, so a statement's size does not depend on how many rows it writes
beyond its parameters. JSON comes back as text (Django's psycopg setup) and is decoded with
orjson; ``None`` is written as SQL NULL, as the ORM writes a JSONField's ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson
from django.db import connection

from configurations.models import Configuration, ConfigurationHistory
from drift.models import (
    Baseline,
    BaselineEntry,
    DriftException,
    DriftFinding,
    DriftReport,
    PathActivity,
)
from tenants.models import FindingTrendPoint, Tenant, TenantStatus
from tenants.models import Settings as TenantSettings

UNRESOLVED = [DriftFinding.Status.OPEN.value, DriftFinding.Status.ACKNOWLEDGED.value]


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _run(sql: str, params: list[Any], *, fetch: bool = True) -> list[tuple[Any, ...]]:
    """Send one statement; its rows when ``fetch``."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else []


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _loads(text: Any) -> Any:
    return None if text is None else orjson.loads(text)


@dataclass(frozen=True)
class Moved:
    """What the first statement of a pass says: the active baseline (None: there is none),
    how many resources are compared, the ids whose hash moved, how many findings are
    unresolved and how many exceptions are live, and the drift_thresholds documents of
    the tenant's and of the MSP's current settings (None where there are none)."""

    baseline_id: int | None
    compared: int
    changed: list[str]
    added: list[str]
    removed: list[str]
    unresolved: int
    exceptions: int
    thresholds: tuple[Any, Any]


def moved_resources(tenant_id: int, public_schema: str) -> Moved:
    """The active baseline and the resources whose hash differs from it, the comparison done
    in PostgreSQL with one full join, so a pass with nothing changed moves no rows to
    Python. A scoped baseline compares only the present resources under its prefix. The
    baseline's id and size, the counts and both settings documents come back in the same
    statement (its last row)."""
    entries, configs = _table(BaselineEntry), _table(Configuration)
    settings, tenants = _table(TenantSettings), _table(Tenant)
    latest = "ORDER BY s.last_updated DESC, s.id DESC LIMIT 1"
    sql = (
        f"WITH base AS (SELECT id, CASE WHEN scope = 'tenant' THEN '' ELSE scope END AS prefix "  # noqa: S608
        f"FROM {_table(Baseline)} WHERE active LIMIT 1) "
        f"SELECT COALESCE(b.resource_id, c.resource_id), b.resource_id IS NOT NULL, "
        f"c.resource_id IS NOT NULL, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, "
        f"NULL::jsonb, NULL::jsonb FROM "
        f"(SELECT resource_id, config_hash FROM {entries} "
        f"WHERE baseline_id = (SELECT id FROM base)) b FULL OUTER JOIN "
        f"(SELECT resource_id, config_hash FROM {configs} WHERE deleted_at IS NULL "
        f"AND starts_with(resource_id, (SELECT prefix FROM base))) c "
        f"ON b.resource_id = c.resource_id WHERE b.config_hash IS DISTINCT FROM c.config_hash "
        f"UNION ALL SELECT NULL, NULL, NULL, (SELECT id FROM base), "
        f"(SELECT count(*) FROM {entries} WHERE baseline_id = (SELECT id FROM base)), "
        f"(SELECT count(*) FROM {_table(DriftFinding)} WHERE status = ANY(%s)), "
        f"(SELECT count(*) FROM {_table(DriftException)} WHERE expires_at > now()), "
        f"(SELECT s.drift_thresholds FROM {settings} s WHERE s.tenant_id = %s {latest}), "
        f"(SELECT s.drift_thresholds FROM {settings} s JOIN {tenants} t ON t.id = s.tenant_id "
        f"WHERE t.schema_name = %s {latest})"
    )
    rows = _run(sql, [UNRESOLVED, tenant_id, public_schema])
    last = next(row for row in rows if row[0] is None)
    baseline_id, size, unresolved, exceptions, own, msp = last[3:]
    rows = [row for row in rows if row[0] is not None]
    changed = [rid for rid, approved, present, *_ in rows if approved and present]
    added = [rid for rid, approved, present, *_ in rows if present and not approved]
    removed = [rid for rid, approved, present, *_ in rows if approved and not present]
    return Moved(
        baseline_id,
        size + len(added),
        changed,
        added,
        removed,
        unresolved,
        exceptions,
        (_loads(own), _loads(msp)),
    )


class Sides(NamedTuple):
    """One moved resource: its approved and present config (None where absent), the
    approved entry's normaliser fingerprint, and who changed it last."""

    resource_id: str
    resource_type: str
    approved: tuple[dict[str, Any], str] | None
    normalized_with: str
    present: tuple[dict[str, Any], str] | None
    changed_by: str


def approved_and_present(baseline_id: int, resource_ids: list[str]) -> list[Sides]:
    """Both sides of the moved resources and their latest caller, in one statement (a
    full join on their ids, the caller from the newest collected change, tombstoned
    resources included)."""
    entries, configs = _table(BaselineEntry), _table(Configuration)
    history = _table(ConfigurationHistory)
    sql = (
        f"SELECT COALESCE(c.resource_id, b.resource_id), "  # noqa: S608
        f"COALESCE(c.resource_type, b.resource_type), b.config, b.config_hash, "
        f"b.normalized_with, c.config_data, c.config_hash, "
        f"(SELECT h.changed_by FROM {history} h JOIN {configs} hc ON hc.id = h.configuration_id "
        f"WHERE hc.resource_id = COALESCE(c.resource_id, b.resource_id) "
        f"ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) FROM "
        f"(SELECT resource_id, resource_type, config, config_hash, normalized_with "
        f"FROM {entries} WHERE baseline_id = %s AND resource_id = ANY(%s)) b FULL OUTER JOIN "
        f"(SELECT resource_id, resource_type, config_data, config_hash FROM {configs} "
        f"WHERE deleted_at IS NULL AND resource_id = ANY(%s)) c "
        f"ON b.resource_id = c.resource_id"
    )
    rows = _run(sql, [baseline_id, resource_ids, resource_ids])
    return [
        Sides(
            rid,
            rtype,
            None if approved_hash is None else (orjson.loads(approved), approved_hash),
            normalized_with or "",
            None if present_hash is None else (orjson.loads(present), present_hash),
            caller or "unknown",
        )
        for rid, rtype, approved, approved_hash, normalized_with, present, present_hash, caller in (
            rows
        )
    ]


def refresh_entries(
    baseline_id: int, refreshed: dict[str, tuple[dict[str, Any], str]], fingerprint: str
) -> None:
    """Store re-normalised approved configs (same approval, current form) with the
    normaliser's fingerprint, in one statement."""
    if not refreshed:
        return
    ids = list(refreshed)
    _run(
        f"UPDATE {_table(BaselineEntry)} e SET config = v.config::jsonb, "  # noqa: S608
        f"config_hash = v.digest, normalized_with = %s "
        f"FROM unnest(%s::text[], %s::text[], %s::text[]) AS v(resource_id, config, digest) "
        f"WHERE e.baseline_id = %s AND e.resource_id = v.resource_id",
        [
            fingerprint,
            ids,
            [_json(refreshed[rid][0]) for rid in ids],
            [refreshed[rid][1] for rid in ids],
            baseline_id,
        ],
        fetch=False,
    )


class Unresolved(NamedTuple):
    """An open or acknowledged finding, as a pass compares it."""

    id: int
    resource_id: str
    path: str
    severity: str
    values: dict[str, Any]  # FINDING_VALUE_FIELDS


def unresolved_findings(value_fields: tuple[str, ...]) -> dict[tuple[str, str], Unresolved]:
    """Every unresolved finding by (resource id, path)."""
    columns = ", ".join(connection.ops.quote_name(f) for f in value_fields)
    json_fields = {"baseline_value", "current_value"}
    rows = _run(
        f"SELECT id, resource_id, path, {columns} FROM {_table(DriftFinding)} "  # noqa: S608
        f"WHERE status = ANY(%s)",
        [UNRESOLVED],
    )
    found: dict[tuple[str, str], Unresolved] = {}
    for pk, rid, path, *rest in rows:
        values = {
            name: _loads(value) if name in json_fields else value
            for name, value in zip(value_fields, rest, strict=True)
        }
        found[(rid, path)] = Unresolved(pk, rid, path, values["severity"], values)
    return found


def path_activity(
    resource_ids: Iterable[str], report_id: int, passes: int
) -> tuple[dict[tuple[str, str], list[int]], int | None]:
    """({(resource id, path): recent report ids} of the given resources, the id of the
    oldest of the last ``passes`` reports up to ``report_id``, None when none of the
    resources has activity), in one statement."""
    rows = _run(
        f"SELECT resource_id, path, report_ids, (SELECT min(id) FROM "  # noqa: S608
        f"(SELECT id FROM {_table(DriftReport)} WHERE id <= %s ORDER BY id DESC LIMIT %s) w) "
        f"FROM {_table(PathActivity)} WHERE resource_id = ANY(%s)",
        [report_id, passes, list(resource_ids)],
    )
    oldest = rows[0][3] if rows else None
    return {(rid, path): _loads(ids) for rid, path, ids, _ in rows}, oldest


def upsert_path_activity(rows: list[tuple[str, str, list[int], bool]]) -> None:
    """Write (resource id, path, recent report ids, flapping) rows, one statement."""
    if not rows:
        return
    _run(
        f"INSERT INTO {_table(PathActivity)} (resource_id, path, report_ids, flapping) "  # noqa: S608
        f"SELECT r, p, i::jsonb, f FROM unnest(%s::text[], %s::text[], %s::text[], "
        f"%s::boolean[]) AS v(r, p, i, f) ON CONFLICT (resource_id, path) DO UPDATE "
        f"SET report_ids = EXCLUDED.report_ids, flapping = EXCLUDED.flapping",
        [
            [r[0] for r in rows],
            [r[1] for r in rows],
            [_json(r[2]) for r in rows],
            [r[3] for r in rows],
        ],
        fetch=False,
    )


def insert_report(
    fields: dict[str, Any], tenant_id: int, counts: dict[str, int], day: date
) -> tuple[int, bool]:
    """Insert the pass's report, update the tenant's public status row and upsert today's
    trend point, in one statement; (report id, whether the status row existed)."""
    names = list(fields)
    values = [_json(v) if isinstance(v, dict) else v for v in fields.values()]
    casts = ["%s::jsonb" if isinstance(v, dict) else "%s" for v in fields.values()]
    document = json.dumps(counts)
    status, trend = _table(TenantStatus), _table(FindingTrendPoint)
    ((report_id, updated),) = _run(
        f"WITH r AS (INSERT INTO {_table(DriftReport)} ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join(casts)}) RETURNING id), "
        f"s AS (UPDATE {status} SET open_findings = %s::jsonb, "
        f"last_detection_at = %s WHERE tenant_id = %s RETURNING 1), "
        f"t AS (INSERT INTO {trend} (tenant_id, day, open_findings) "
        f"VALUES (%s, %s, %s::jsonb) ON CONFLICT (tenant_id, day) "
        f"DO UPDATE SET open_findings = EXCLUDED.open_findings) "
        f"SELECT (SELECT id FROM r), (SELECT count(*) FROM s)",
        [
            *values,
            document,
            fields["finished_at"],
            tenant_id,
            tenant_id,
            day,
            document,
        ],
    )
    return report_id, bool(updated)


def insert_findings(rows: list[dict[str, Any]], seen_at: datetime, report_id: int) -> None:
    """Insert new open findings (each a dict of resource_id, path, the value fields,
    changed_by and flapping), one statement."""
    if not rows:
        return
    text = ("resource_id", "path", "resource_type", "kind", "severity", "matched_rule")
    _run(
        f"INSERT INTO {_table(DriftFinding)} (status, status_changed_by, first_seen, "  # noqa: S608
        f"last_seen, last_report_id, resource_id, path, resource_type, kind, severity, "
        f"matched_rule, baseline_value, current_value, changed_by, flapping) "
        f"SELECT %s, '', %s, %s, %s, r, p, rt, k, s, m, bv::jsonb, cv::jsonb, by, fl "
        f"FROM unnest({', '.join(['%s::text[]'] * 9)}, %s::boolean[]) "
        f"AS v(r, p, rt, k, s, m, bv, cv, by, fl)",
        [
            DriftFinding.Status.OPEN.value,
            seen_at,
            seen_at,
            report_id,
            *[[row[name] for row in rows] for name in text],
            [_json(row["baseline_value"]) for row in rows],
            [_json(row["current_value"]) for row in rows],
            [row["changed_by"] for row in rows],
            [row["flapping"] for row in rows],
        ],
        fetch=False,
    )


def update_seen_findings(rows: list[Unresolved], seen_at: datetime, report_id: int) -> None:
    """Findings this pass saw still drifting: their (possibly new) values, last_seen,
    last_report, and flapping once it starts (``values["flapping"]``), one statement."""
    if not rows:
        return
    _run(
        f"UPDATE {_table(DriftFinding)} f SET resource_type = v.rt, kind = v.k, "  # noqa: S608
        f"baseline_value = v.bv::jsonb, current_value = v.cv::jsonb, severity = v.s, "
        f"matched_rule = v.m, flapping = f.flapping OR v.fl, last_seen = %s, "
        f"last_report_id = %s FROM unnest(%s::bigint[], %s::text[], %s::text[], "
        f"%s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[]) "
        f"AS v(id, rt, k, bv, cv, s, m, fl) WHERE f.id = v.id",
        [
            seen_at,
            report_id,
            [r.id for r in rows],
            [r.values["resource_type"] for r in rows],
            [r.values["kind"] for r in rows],
            [_json(r.values["baseline_value"]) for r in rows],
            [_json(r.values["current_value"]) for r in rows],
            [r.values["severity"] for r in rows],
            [r.values["matched_rule"] for r in rows],
            [bool(r.values.get("flapping")) for r in rows],
        ],
        fetch=False,
    )


def close_findings(rows: list[tuple[int, str, str, int | None]], at: datetime) -> None:
    """Close findings, each (id, status, by whom, exception id or None): resolved back to
    baseline or by an ignore rule, accepted by an exception; one statement."""
    if not rows:
        return
    _run(
        f"UPDATE {_table(DriftFinding)} f SET status = v.st, resolved_at = %s, "  # noqa: S608
        f"status_changed_by = v.by, status_changed_at = %s, "
        f"exception_id = COALESCE(v.ex, f.exception_id) FROM unnest(%s::bigint[], "
        f"%s::text[], %s::text[], %s::bigint[]) AS v(id, st, by, ex) WHERE f.id = v.id",
        [
            at,
            at,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
        ],
        fetch=False,
    )
