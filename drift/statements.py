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

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson
from django.db import connection

from configurations.models import Configuration, ConfigurationHistory
from drift.models import (
    UNRESOLVED_STATUSES,
    Baseline,
    BaselineEntry,
    DriftedResource,
    DriftException,
    DriftFinding,
    DriftReport,
    PathActivity,
)
from tenants.models import FindingTrendPoint, Tenant, TenantStatus
from tenants.models import Settings as TenantSettings

UNRESOLVED = list(UNRESOLVED_STATUSES)
#: Resources whose both sides one statement of :func:`comparison_inputs` reads.
BATCH = 2000
#: Report ids :func:`comparison_inputs` brings for the flapping window (the last
#: ``passes`` reports).
RECENT_REPORTS = 64


@functools.cache
def _table(model: Any) -> str:
    """The model's table name, quoted (unqualified: the search_path picks the schema)."""
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


def decoded_json(value: Any) -> Any:
    """A json/jsonb column: text under Django's psycopg setup, decoded if not yet."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True)
class Context:
    """What the first statement of a pass says.

    The id its report will have (taken from the reports' sequence now, so the pass can
    write everything in one statement at the end); the active baseline (``baseline_id``
    None: there is none), its revision and scope prefix; how many findings are
    unresolved and exceptions live, with a digest of the live exceptions; the
    drift_thresholds documents of the tenant's and the MSP's current settings, decoded
    (``thresholds``) and as stored (``documents``); the latest report's detection key,
    last full check, resources compared and drift by kind; the resources pending
    detection (id -> present hash, None when tombstoned); and the tenant's drift totals
    outside the pending resources under the baseline's prefix (drifted resources by kind,
    ignored and suppressed changes, unresolved findings by severity).
    """

    report_id: int
    baseline_id: int | None
    baseline_revision: int
    prefix: str
    unresolved: int
    exceptions: int
    exceptions_digest: str
    thresholds: tuple[Any, Any]
    documents: tuple[str | None, str | None]
    last_key: str
    last_full_check_at: datetime | None
    last_compared: int
    last_by_kind: dict[str, int]
    pending: dict[str, str | None]
    rest_by_kind: dict[str, int]
    rest_ignored: int
    rest_suppressed: int
    rest_by_severity: dict[str, int]

    @property
    def examined(self) -> list[str]:
        """The pending resources the baseline covers (what an incremental pass compares)."""
        return [rid for rid in self.pending if rid.startswith(self.prefix)]


def detection_context(tenant_id: int, public_schema: str) -> Context:
    """Everything a pass decides on, in one statement returning one row: the pending
    resources come from a partial index (rows whose present hash differs from the one
    last compared), so a pass with nothing changed scans no configuration."""
    configs, findings = _table(Configuration), _table(DriftFinding)
    drifted, exceptions = _table(DriftedResource), _table(DriftException)
    settings, tenants = _table(TenantSettings), _table(Tenant)
    latest = "ORDER BY s.last_updated DESC, s.id DESC LIMIT 1"
    present = "(CASE WHEN deleted_at IS NULL THEN config_hash END)"
    outside = "resource_id NOT IN (SELECT resource_id FROM examined)"
    sql = (
        f"WITH base AS (SELECT id, revision, CASE WHEN scope = 'tenant' THEN '' "  # noqa: S608
        f"ELSE scope END AS prefix FROM {_table(Baseline)} WHERE active LIMIT 1), "
        f"pending AS (SELECT resource_id, {present} AS h FROM {configs} "
        f"WHERE drift_pending), "
        f"examined AS (SELECT resource_id FROM pending "
        f"WHERE starts_with(resource_id, COALESCE((SELECT prefix FROM base), ''))), "
        f"last AS (SELECT detection_key, full_check_at, resources_compared, by_kind "
        f"FROM {_table(DriftReport)} ORDER BY id DESC LIMIT 1), "
        f"live AS (SELECT id, expires_at, resource_pattern, path_pattern, accepted_value "
        f"FROM {exceptions} WHERE expires_at > now()) "
        f"SELECT nextval(pg_get_serial_sequence(%s, 'id')), "
        f"(SELECT id FROM base), (SELECT revision FROM base), "
        f"(SELECT prefix FROM base), "
        f"(SELECT count(*) FROM {findings} WHERE status = ANY(%s)), "
        f"(SELECT count(*) FROM live), "
        f"(SELECT md5(string_agg(concat_ws('|', id, expires_at, resource_pattern, "
        f"path_pattern, accepted_value::text), ',' ORDER BY id)) FROM live), "
        f"(SELECT s.drift_thresholds FROM {settings} s WHERE s.tenant_id = %s {latest}), "
        f"(SELECT s.drift_thresholds FROM {settings} s JOIN {tenants} t ON t.id = s.tenant_id "
        f"WHERE t.schema_name = %s {latest}), "
        f"(SELECT detection_key FROM last), (SELECT full_check_at FROM last), "
        f"(SELECT resources_compared FROM last), (SELECT by_kind FROM last), "
        f"(SELECT jsonb_agg(jsonb_build_array(resource_id, h)) FROM pending), "
        f"(SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) AS n FROM {drifted} "
        f"WHERE {outside} GROUP BY kind) k), "
        f"(SELECT jsonb_build_array(COALESCE(sum(ignored), 0), COALESCE(sum(suppressed), 0)) "
        f"FROM {drifted} WHERE {outside}), "
        f"(SELECT jsonb_object_agg(severity, n) FROM (SELECT severity, count(*) AS n "
        f"FROM {findings} WHERE status = ANY(%s) AND {outside} GROUP BY severity) v)"
    )
    params = [DriftReport._meta.db_table, UNRESOLVED, tenant_id, public_schema, UNRESOLVED]
    ((row),) = _run(sql, params)
    (
        report_id,
        baseline_id,
        revision,
        prefix,
        unresolved,
        live,
        digest,
        own,
        msp,
        last_key,
        last_full,
        last_compared,
        last_by_kind,
        pending,
        rest_by_kind,
        rest_counts,
        rest_by_severity,
    ) = row
    ignored, suppressed = decoded_json(rest_counts)
    return Context(
        report_id=report_id,
        baseline_id=baseline_id,
        baseline_revision=revision or 0,
        prefix=prefix or "",
        unresolved=unresolved,
        exceptions=live,
        exceptions_digest=digest or "",
        thresholds=(_loads(own), _loads(msp)),
        documents=(own, msp),
        last_key=last_key or "",
        last_full_check_at=last_full,
        last_compared=last_compared or 0,
        last_by_kind=decoded_json(last_by_kind) or {},
        pending=dict(decoded_json(pending) or []),
        rest_by_kind=decoded_json(rest_by_kind) or {},
        rest_ignored=int(ignored),
        rest_suppressed=int(suppressed),
        rest_by_severity=decoded_json(rest_by_severity) or {},
    )


@dataclass(frozen=True)
class Moved:
    """The resources whose hash differs from the baseline's (present in both, only
    present, only approved) and the baseline's size."""

    changed: list[str]
    added: list[str]
    removed: list[str]
    size: int


def moved_resources(baseline_id: int, prefix: str) -> Moved:
    """The resources whose hash differs from the baseline, every resource compared in
    PostgreSQL with one full join (a full check), so nothing unchanged moves to Python.
    A scoped baseline compares only the present resources under its prefix."""
    entries, configs = _table(BaselineEntry), _table(Configuration)
    sql = (
        f"SELECT COALESCE(b.resource_id, c.resource_id), b.resource_id IS NOT NULL, "  # noqa: S608
        f"c.resource_id IS NOT NULL, NULL::bigint FROM "
        f"(SELECT resource_id, config_hash FROM {entries} WHERE baseline_id = %s) b "
        f"FULL OUTER JOIN (SELECT resource_id, config_hash FROM {configs} "
        f"WHERE deleted_at IS NULL AND starts_with(resource_id, %s)) c "
        f"ON b.resource_id = c.resource_id WHERE b.config_hash IS DISTINCT FROM c.config_hash "
        f"UNION ALL SELECT NULL, NULL, NULL, "
        f"(SELECT count(*) FROM {entries} WHERE baseline_id = %s)"
    )
    rows = _run(sql, [baseline_id, prefix, baseline_id])
    size = next(row[3] for row in rows if row[0] is None)
    rows = [row for row in rows if row[0] is not None]
    return Moved(
        changed=[rid for rid, approved, present, _ in rows if approved and present],
        added=[rid for rid, approved, present, _ in rows if present and not approved],
        removed=[rid for rid, approved, present, _ in rows if approved and not present],
        size=size,
    )


class Sides(NamedTuple):
    """One moved resource: its approved and present config (None where absent), the
    approved entry's normaliser fingerprint, who changed it last, and its paths' recent
    activity (path -> report ids of their events, for flapping)."""

    resource_id: str
    resource_type: str
    approved: tuple[dict[str, Any], str] | None
    normalized_with: str
    present: tuple[dict[str, Any], str] | None
    changed_by: str
    activity: dict[str, list[int]]


@dataclass(frozen=True)
class ComparisonInputs:
    """What a pass compares a batch of resources with: both sides of each
    (:class:`Sides`), their unresolved findings when asked for (else None), and the ids
    of the latest :data:`RECENT_REPORTS` reports, newest first (the flapping window)."""

    sides: list[Sides]
    unresolved: dict[tuple[str, str], Unresolved] | None
    latest_reports: list[int]


def _side(row: list[Any]) -> Sides:
    """A :class:`Sides` from one decoded row of :func:`comparison_inputs`."""
    (
        resource_id,
        resource_type,
        approved,
        approved_hash,
        normalized_with,
        present,
        present_hash,
        caller,
        activity,
    ) = row
    return Sides(
        resource_id,
        resource_type,
        None if approved_hash is None else (approved, approved_hash),
        normalized_with or "",
        None if present_hash is None else (present, present_hash),
        caller or "unknown",
        activity or {},
    )


def comparison_inputs(
    baseline_id: int, resource_ids: list[str], unresolved_fields: tuple[str, ...] | None
) -> ComparisonInputs:
    """Both sides of ``resource_ids`` (a full join of the approved and the present configs
    on their ids, tombstones excluded) with each one's latest caller (from the newest
    collected change) and path activity, their unresolved findings with
    ``unresolved_fields`` (when given) and the latest report ids, in one statement
    returning one row."""
    entries, configs = _table(BaselineEntry), _table(Configuration)
    history, activity = _table(ConfigurationHistory), _table(PathActivity)
    rid = "COALESCE(c.resource_id, b.resource_id)"
    findings = "NULL"
    params: list[Any] = [baseline_id, resource_ids, resource_ids]
    if unresolved_fields is not None:
        findings = _unresolved_select(unresolved_fields, " AND resource_id = ANY(%s)")
        params += [UNRESOLVED, resource_ids]
    sql = (
        # json, not jsonb, aggregates: they append each config's text where jsonb ones
        # would take every config apart and build it again (three times the cost).
        f"SELECT (SELECT json_agg(json_build_array({rid}, "  # noqa: S608
        f"COALESCE(c.resource_type, b.resource_type), b.config, b.config_hash, "
        f"b.normalized_with, c.config_data, c.config_hash, "
        f"(SELECT h.changed_by FROM {history} h JOIN {configs} hc ON hc.id = h.configuration_id "
        f"WHERE hc.resource_id = {rid} ORDER BY h.changed_at DESC, h.id DESC LIMIT 1), "
        f"(SELECT json_object_agg(a.path, a.report_ids) FROM {activity} a "
        f"WHERE a.resource_id = {rid}))) FROM "
        f"(SELECT resource_id, resource_type, config, config_hash, normalized_with "
        f"FROM {entries} WHERE baseline_id = %s AND resource_id = ANY(%s)) b FULL OUTER JOIN "
        f"(SELECT resource_id, resource_type, config_data, config_hash FROM {configs} "
        f"WHERE deleted_at IS NULL AND resource_id = ANY(%s)) c "
        f"ON b.resource_id = c.resource_id), {findings}, "
        f"(SELECT json_agg(id) FROM (SELECT id FROM {_table(DriftReport)} "
        f"ORDER BY id DESC LIMIT {RECENT_REPORTS}) w)"
    )
    ((sides, unresolved, latest),) = _run(sql, params)
    return ComparisonInputs(
        sides=[_side(row) for row in decoded_json(sides) or []],
        unresolved=None
        if unresolved_fields is None
        else _unresolved(unresolved_fields, decoded_json(unresolved) or []),
        latest_reports=decoded_json(latest) or [],
    )


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
    ((rows,),) = _run(f"SELECT {_unresolved_select(value_fields, '')}", [UNRESOLVED])
    return _unresolved(value_fields, decoded_json(rows) or [])


def _unresolved_select(value_fields: tuple[str, ...], only: str) -> str:
    """A scalar subquery: the unresolved findings (``only``: a further condition) as one
    JSON array of (id, resource id, path, *value_fields) rows."""
    columns = ", ".join(connection.ops.quote_name(f) for f in value_fields)
    return (
        f"(SELECT json_agg(json_build_array(id, resource_id, path, {columns})) "  # noqa: S608
        f"FROM {_table(DriftFinding)} WHERE status = ANY(%s){only})"
    )


def _unresolved(
    value_fields: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> dict[tuple[str, str], Unresolved]:
    """Decoded rows of (id, resource id, path, *value_fields) by (resource id, path)."""
    found: dict[tuple[str, str], Unresolved] = {}
    for pk, rid, path, *rest in rows:
        values = dict(zip(value_fields, rest, strict=True))
        found[(rid, path)] = Unresolved(pk, rid, path, values["severity"], values)
    return found


def path_activity(
    resource_ids: Iterable[str], report_id: int, passes: int
) -> tuple[dict[tuple[str, str], list[int]], int | None]:
    """({(resource id, path): recent report ids} of the given resources, the id of the
    oldest of the last ``passes`` reports counting this pass's ``report_id`` (not written
    yet), None when none of the resources has activity), in one statement."""
    rows = _run(
        f"SELECT resource_id, path, report_ids, (SELECT min(id) FROM "  # noqa: S608
        f"(SELECT id FROM {_table(DriftReport)} WHERE id < %s ORDER BY id DESC LIMIT %s) w) "
        f"FROM {_table(PathActivity)} WHERE resource_id = ANY(%s)",
        [report_id, max(passes - 1, 0), list(resource_ids)],
    )
    if not rows:
        return {}, None
    oldest = min(report_id, rows[0][3] if rows[0][3] is not None else report_id)
    return {(rid, path): _loads(ids) for rid, path, ids, _ in rows}, oldest


@dataclass(frozen=True)
class Examined:
    """What a pass writes about the resources it examined: the hash each was compared at
    (None: absent), the drifted ones (resource id, kind, ignored, suppressed), and
    whether it compared every resource (``full``: drift rows of the others go) or only
    ``resource_ids`` (the other unresolved findings were seen again unchanged)."""

    full: bool
    resource_ids: list[str]
    compared_hashes: dict[str, str | None]
    drifted: list[tuple[str, str, int, int]]


@dataclass(frozen=True)
class FindingWrites:
    """The findings a pass writes: new open ones (dicts of resource_id, path, the value
    fields, changed_by and flapping), the unresolved ones it saw still drifting (their
    possibly new values; ``values["flapping"]`` once it starts), the ones it closes
    (id, status, by whom, exception id or None), and the path activity rows (resource id,
    path, recent report ids, flapping)."""

    new: list[dict[str, Any]]
    seen: list[Unresolved]
    closing: list[tuple[int, str, str, int | None]]
    activity: list[tuple[str, str, list[int], bool]]


def write_pass(
    report_id: int,
    fields: dict[str, Any],
    tenant_id: int,
    counts: dict[str, int],
    day: date,
    examined: Examined,
    findings: FindingWrites,
) -> bool:
    """Everything a pass writes, in one statement (so it is atomic without a transaction
    of its own): its report, the tenant's public status row and today's trend point, the
    examined resources marked as compared and their drift rows replaced, the other
    unresolved findings noted as seen (a pass that examined only some), the path activity,
    and the new, seen and closed findings. Returns whether the status row existed."""
    names = ["id", *fields]
    values = [report_id, *(_json(v) if isinstance(v, dict) else v for v in fields.values())]
    casts = ["%s", *("%s::jsonb" if isinstance(v, dict) else "%s" for v in fields.values())]
    document = json.dumps(counts)
    status, trend = _table(TenantStatus), _table(FindingTrendPoint)
    configs, table = _table(Configuration), _table(DriftFinding)
    drifted = _table(DriftedResource)
    marked = list(examined.compared_hashes)
    drifted_ids = [row[0] for row in examined.drifted]
    seen_at = fields["started_at"]
    new, seen, closing, activity = (
        findings.new,
        findings.seen,
        findings.closing,
        findings.activity,
    )
    text = ("resource_id", "path", "resource_type", "kind", "severity", "matched_rule")
    sql = (
        f"WITH r AS (INSERT INTO {_table(DriftReport)} ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join(casts)})), "
        f"s AS (UPDATE {status} SET open_findings = %s::jsonb, "
        f"last_detection_at = %s WHERE tenant_id = %s RETURNING 1), "
        f"t AS (INSERT INTO {trend} (tenant_id, day, open_findings) "
        f"VALUES (%s, %s, %s::jsonb) ON CONFLICT (tenant_id, day) "
        f"DO UPDATE SET open_findings = EXCLUDED.open_findings), "
        f"m AS (UPDATE {configs} c SET detected_hash = v.h "
        f"FROM unnest(%s::text[], %s::text[]) AS v(r, h) WHERE c.resource_id = v.r), "
        f"d AS (DELETE FROM {drifted} WHERE (%s OR resource_id = ANY(%s)) "
        f"AND resource_id <> ALL(%s)), "
        f"u AS (INSERT INTO {drifted} (resource_id, kind, ignored, suppressed) "
        f"SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[]) "
        f"ON CONFLICT (resource_id) DO UPDATE SET kind = EXCLUDED.kind, "
        f"ignored = EXCLUDED.ignored, suppressed = EXCLUDED.suppressed), "
        f"f AS (UPDATE {table} SET last_seen = %s, last_report_id = %s "
        f"WHERE NOT %s AND status = ANY(%s) AND resource_id <> ALL(%s)), "
        f"a AS (INSERT INTO {_table(PathActivity)} (resource_id, path, report_ids, flapping) "
        f"SELECT r, p, i::jsonb, fl FROM unnest(%s::text[], %s::text[], %s::text[], "
        f"%s::boolean[]) AS v(r, p, i, fl) ON CONFLICT (resource_id, path) DO UPDATE "
        f"SET report_ids = EXCLUDED.report_ids, flapping = EXCLUDED.flapping), "
        f"n AS (INSERT INTO {table} (status, status_changed_by, first_seen, "
        f"last_seen, last_report_id, resource_id, path, resource_type, kind, severity, "
        f"matched_rule, baseline_value, current_value, changed_by, flapping) "
        f"SELECT %s, '', %s, %s, %s, r, p, rt, k, sv, m, bv::jsonb, cv::jsonb, by, fl "
        f"FROM unnest({', '.join(['%s::text[]'] * 9)}, %s::boolean[]) "
        f"AS v(r, p, rt, k, sv, m, bv, cv, by, fl)), "
        f"e AS (UPDATE {table} f SET resource_type = v.rt, kind = v.k, "
        f"baseline_value = v.bv::jsonb, current_value = v.cv::jsonb, severity = v.sv, "
        f"matched_rule = v.m, flapping = f.flapping OR v.fl, last_seen = %s, "
        f"last_report_id = %s FROM unnest(%s::bigint[], %s::text[], %s::text[], "
        f"%s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[]) "
        f"AS v(id, rt, k, bv, cv, sv, m, fl) WHERE f.id = v.id), "
        f"x AS (UPDATE {table} f SET status = v.st, resolved_at = %s, "
        f"status_changed_by = v.by, status_changed_at = %s, "
        f"exception_id = COALESCE(v.ex, f.exception_id) FROM unnest(%s::bigint[], "
        f"%s::text[], %s::text[], %s::bigint[]) AS v(id, st, by, ex) WHERE f.id = v.id) "
        f"SELECT count(*) FROM s"
    )
    params = [
        *values,
        # s, t
        document,
        fields["finished_at"],
        tenant_id,
        tenant_id,
        day,
        document,
        # m
        marked,
        [examined.compared_hashes[rid] for rid in marked],
        # d, u
        examined.full,
        examined.resource_ids,
        drifted_ids,
        drifted_ids,
        [row[1] for row in examined.drifted],
        [row[2] for row in examined.drifted],
        [row[3] for row in examined.drifted],
        # f
        seen_at,
        report_id,
        examined.full,
        UNRESOLVED,
        examined.resource_ids,
        # a
        [row[0] for row in activity],
        [row[1] for row in activity],
        [_json(row[2]) for row in activity],
        [row[3] for row in activity],
        # n
        DriftFinding.Status.OPEN.value,
        seen_at,
        seen_at,
        report_id,
        *[[row[name] for row in new] for name in text],
        [_json(row["baseline_value"]) for row in new],
        [_json(row["current_value"]) for row in new],
        [row["changed_by"] for row in new],
        [row["flapping"] for row in new],
        # e
        seen_at,
        report_id,
        [r.id for r in seen],
        [r.values["resource_type"] for r in seen],
        [r.values["kind"] for r in seen],
        [_json(r.values["baseline_value"]) for r in seen],
        [_json(r.values["current_value"]) for r in seen],
        [r.values["severity"] for r in seen],
        [r.values["matched_rule"] for r in seen],
        [bool(r.values.get("flapping")) for r in seen],
        # x
        seen_at,
        seen_at,
        [r[0] for r in closing],
        [r[1] for r in closing],
        [r[2] for r in closing],
        [r[3] for r in closing],
    ]
    ((updated,),) = _run(sql, params)
    return bool(updated)
