"""Reads for drift pages (connection already in the tenant schema)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from configurations.models import Configuration, ConfigurationHistory
from drift.models import UNRESOLVED_STATUSES, Baseline, BaselineEntry, DriftFinding
from drift.severity import RuleSet, usable_rule_set
from drift.statements import decoded_json
from tenants.models import Settings as TenantSettings
from tenants.models import Tenant


def active_baseline() -> Baseline | None:
    """The baseline detection compares against."""
    return Baseline.objects.filter(active=True).first()


def approved_and_current(finding: DriftFinding) -> tuple[Any, Any]:
    """(baseline config, current config) of the finding's resource; None where absent."""
    baseline = active_baseline()
    approved = None
    if baseline is not None:
        approved = (
            BaselineEntry.objects.filter(baseline=baseline, resource_id=finding.resource_id)
            .values_list("config", flat=True)
            .first()
        )
    current = (
        Configuration.objects.filter(resource_id=finding.resource_id, deleted_at__isnull=True)
        .values_list("config_data", flat=True)
        .first()
    )
    return approved, current


def resource_history(resource_id: str, limit: int = 50) -> QuerySet[ConfigurationHistory]:
    """The newest collected changes of one resource (who and when), newest first."""
    return ConfigurationHistory.objects.filter(configuration__resource_id=resource_id).order_by(
        "-changed_at", "-id"
    )[:limit]


def baseline_scopes(limit: int = 500) -> list[tuple[str, str]]:
    """Choices for a scoped baseline: each subscription and resource group present, as
    (id prefix, label)."""
    choices: list[tuple[str, str]] = []
    subscriptions = (
        Configuration.objects.filter(deleted_at__isnull=True)
        .order_by("subscription_id")
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    for subscription in subscriptions[:limit]:
        if subscription:
            choices.append((f"/subscriptions/{subscription}/", f"subscription {subscription}"))
    groups = (
        Configuration.objects.filter(deleted_at__isnull=True)
        .exclude(resource_group="")
        .order_by("subscription_id", "resource_group")
        .values_list("subscription_id", "resource_group")
        .distinct()
    )
    for subscription, group in groups[:limit]:
        choices.append(
            (
                f"/subscriptions/{subscription}/resourcegroups/{group}/",
                f"resource group {group} ({subscription})",
            )
        )
    return choices


def detection_rules(
    tenant: Tenant, documents: tuple[Any, Any] | None = None
) -> tuple[dict[str, Any], RuleSet, list[str]]:
    """(the tenant's drift_thresholds, its usable rule set, problems of rules left out).

    Layers: the tenant's own rules, then the MSP's default rules (the public tenant's
    drift_thresholds), then the shipped pack. Invalid stored rules are left out and
    reported rather than stopping the pass (they are refused when saved). One query reads
    both current settings documents, unless the caller read them already (``documents``,
    the tenant's and the MSP's; a detection pass reads them with its first statement).
    The compiled rule set is cached per process by the documents' content, so a changed
    rule applies from the next pass on and equal documents compile once.
    """
    public = get_public_schema_name()
    if documents is None:
        current = _settings_digests(tenant, documents=True)
        documents = tuple(
            (current.get(name) or (None, None))[1] for name in (tenant.schema_name, public)
        )
    thresholds = documents[0] or {}
    msp_rules = None
    if tenant.schema_name != public:
        msp_rules = (documents[1] or {}).get("rules") or None
        if msp_rules == thresholds.get("rules"):
            msp_rules = None  # the tenant still has the copy it was onboarded with
    rules, problems = _cached_rule_set(
        json.dumps(thresholds, sort_keys=True), json.dumps(msp_rules, sort_keys=True)
    )
    return thresholds, rules, list(problems)


@lru_cache(maxsize=256)
def _cached_rule_set(thresholds: str, msp_rules: str) -> tuple[RuleSet, tuple[str, ...]]:
    rules, problems = usable_rule_set(json.loads(thresholds), json.loads(msp_rules))
    return rules, tuple(problems)


def _rule_name(matched_rule: str) -> str:
    """The rule's own name from a finding's matched_rule (drops "(secure direction)" and
    "(escalated: N changes)" notes; rule names never contain " (")."""
    return matched_rule.split(" (", 1)[0]


# Rule indexes by (public tenant?, md5 of the tenant's drift_thresholds, md5 of the MSP's):
# the index is a function of those two documents (and the shipped pack), so a changed
# document has a new key and an index is never stale. Bounded: cleared when full.
_RULE_INDEXES: dict[tuple[bool, str | None, str | None], dict[str, dict[str, str]]] = {}
_RULE_INDEXES_MAX = 256


def _settings_digests(tenant: Tenant, *, documents: bool = False) -> dict[str, tuple[Any, ...]]:
    """schema name -> (md5 of drift_thresholds[, the document]) of the current settings
    version of ``tenant`` and of the MSP (public tenant), in one statement.

    Plain SQL (``detection_rules`` reads the documents with it too): the ORM spent most of
    a findings page's rule lookup compiling the same query (the documents are small)."""
    table, tenants = TenantSettings._meta.db_table, Tenant._meta.db_table
    extra = ", s.drift_thresholds" if documents else ""
    sql = (
        # Table names from the models, the flag a constant: nothing from a caller.
        f"SELECT DISTINCT ON (t.schema_name) t.schema_name, md5(s.drift_thresholds::text){extra} "  # noqa: S608
        f'FROM "{table}" s INNER JOIN "{tenants}" t ON t.id = s.tenant_id '
        "WHERE s.tenant_id = %s OR t.schema_name = %s "
        "ORDER BY t.schema_name, s.last_updated DESC, s.id DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant.pk, get_public_schema_name()])
        rows = cursor.fetchall()
    if documents:  # jsonb arrives as text with psycopg2's plain cursor here
        rows = [(r[0], r[1], decoded_json(r[2])) for r in rows]
    return {row[0]: row[1:] for row in rows}


def rule_index(tenant: Tenant) -> dict[str, dict[str, str]]:
    """Rule name -> {source, id, rationale, reference} for every rule that can rate a
    finding of ``tenant``: its own rules first, then the MSP's defaults, then the pack.

    Cached per process by the content of both settings documents: one statement reads
    their md5 (of PostgreSQL's canonical jsonb text), and only a pair not seen before is
    read, decoded and compiled. Treat the result as read-only (it is shared)."""
    public = get_public_schema_name()
    current = _settings_digests(tenant)
    key = (
        tenant.schema_name == public,
        (current.get(tenant.schema_name) or (None,))[0],
        (current.get(public) or (None,))[0],
    )
    index = _RULE_INDEXES.get(key)
    if index is not None:
        return index
    # Both documents with their digests, read together, so the key matches the content.
    current = _settings_digests(tenant, documents=True)
    mine, msp = current.get(tenant.schema_name), current.get(public)
    key = (key[0], mine[0] if mine else None, msp[0] if msp else None)
    index = _build_rule_index(tenant, (mine[1] if mine else None, msp[1] if msp else None))
    if len(_RULE_INDEXES) >= _RULE_INDEXES_MAX:
        _RULE_INDEXES.clear()
    _RULE_INDEXES[key] = index
    return index


def _build_rule_index(tenant: Tenant, documents: tuple[Any, Any]) -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    thresholds, rules, _ = detection_rules(tenant, documents)
    own = {str(spec.get("name") or "") for spec in thresholds.get("rules") or []}
    for rule in rules.rules:
        if rule.name in index:
            continue
        source = "tenant" if rule.name in own else ("pack" if rule.rule_id else "MSP default")
        index[rule.name] = {
            "source": source,
            "id": rule.rule_id,
            "rationale": rule.rationale,
            "reference": rule.reference,
        }
    return index


def rule_details(
    finding: DriftFinding, index: dict[str, dict[str, str]] | None = None
) -> dict[str, str]:
    """The rule that rated ``finding``: name, source, id, rationale and reference (empty
    strings for the fallback or a rule that no longer exists)."""
    if index is None:
        index = rule_index(Tenant.objects.get(schema_name=connection.schema_name))
    return rule_details_by_name(finding.matched_rule, index)


def rule_details_by_name(matched_rule: str, index: dict[str, dict[str, str]]) -> dict[str, str]:
    """``rule_details`` from a finding's ``matched_rule`` and a ``rule_index``."""
    name = _rule_name(matched_rule)
    found = index.get(name, {"source": "", "id": "", "rationale": "", "reference": ""})
    if name == "default":
        found = {**found, "source": "fallback", "rationale": "No rule matched this change."}
    return {"name": name, **found}


def findings_changed_by_report(report_id: int) -> dict[str, list[DriftFinding]]:
    """The findings whose state a detection pass changed, for notifications.

    ``opened``: created by the pass; ``changed``: seen by the pass with a new value or
    severity (its path has an event in this pass); ``resolved``: resolved by the pass
    (back at baseline or matched by an ignore rule). Findings merely persisting are left out.
    """
    from drift.models import DriftReport, PathActivity

    report = DriftReport.objects.get(pk=report_id)
    seen = list(DriftFinding.objects.filter(last_report_id=report_id))
    opened = [f for f in seen if f.first_seen >= report.started_at]
    rest = [f for f in seen if f.first_seen < report.started_at]
    changed: list[DriftFinding] = []
    if rest:
        moved = {
            (a.resource_id, a.path)
            for a in PathActivity.objects.filter(
                resource_id__in={f.resource_id for f in rest}, report_ids__contains=[report_id]
            )
        }
        changed = [f for f in rest if (f.resource_id, f.path) in moved]
    resolved = list(
        DriftFinding.objects.filter(
            status=DriftFinding.Status.RESOLVED, resolved_at=report.started_at
        )
    )
    return {"opened": opened, "changed": changed, "resolved": resolved}


def expired_exception_paths(findings: list[DriftFinding], *, at: Any) -> set[tuple[str, str]]:
    """(resource id, path) of these findings that were accepted under an exception that had
    expired by ``at`` (so the finding reopened because the exception ran out)."""
    if not findings:
        return set()
    rows = DriftFinding.objects.filter(
        status=DriftFinding.Status.ACCEPTED,
        exception__expires_at__lte=at,
        resource_id__in={f.resource_id for f in findings},
    ).values_list("resource_id", "path")
    wanted = {(f.resource_id, f.path) for f in findings}
    return {row for row in rows if row in wanted}


def reports_finished_between(start: Any, end: Any) -> list[int]:
    """Ids of detection reports that finished in [start, end)."""
    from drift.models import DriftReport

    return list(
        DriftReport.objects.filter(finished_at__gte=start, finished_at__lt=end).values_list(
            "pk", flat=True
        )
    )


SUBSCRIPTION_TYPE = "microsoft.resources/subscriptions"


def subscription_names() -> dict[str, str]:
    """Subscription id (lower-case) -> display name, from the collected
    ``resourcecontainers`` rows (the id itself where no name was collected)."""
    rows = Configuration.objects.filter(resource_type=SUBSCRIPTION_TYPE).values_list(
        "subscription_id", "resource_name"
    )
    return {sid.lower(): name or sid for sid, name in rows}


def subscription_choices() -> list[tuple[str, str]]:
    """(subscription id, "name (id)") for every subscription with collected resources."""
    names = subscription_names()
    ids = (
        Configuration.objects.order_by("subscription_id")
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    return [(sid, names.get(sid.lower(), sid)) for sid in ids if sid]


def resource_group_choices(subscription_id: str = "", limit: int = 300) -> list[tuple[str, str]]:
    """(resource group, label) of collected resources, within one subscription if given."""
    rows = Configuration.objects.exclude(resource_group="")
    if subscription_id:
        rows = rows.filter(subscription_id=subscription_id)
    groups = (rows.order_by("resource_group").values_list("resource_group", flat=True).distinct())[
        :limit
    ]
    return [(group, group) for group in groups]


def finding_counts_by_severity(statuses: tuple[str, ...] = ("open",)) -> dict[str, int]:
    """Findings per severity among ``statuses``."""
    from django.db.models import Count

    rows = (
        DriftFinding.objects.filter(status__in=statuses)
        .values_list("severity")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def unresolved_findings_most_severe_first() -> QuerySet[DriftFinding]:
    """Open and acknowledged findings, most severe first by rank (not by name), then by
    resource and path: the order a person reading a list of drift expects."""
    from drift.choices import rank_expression

    return (
        DriftFinding.objects.filter(status__in=UNRESOLVED_STATUSES)
        .annotate(rank=rank_expression())
        .order_by("-rank", "resource_id", "path")
    )


#: Tenant schemas read by one UNION ALL statement of the cross-tenant findings search.
FLEET_FINDINGS_BATCH = 200


def fleet_findings(
    *,
    user: Any,
    limit: int,
    severity: str | None = None,
    status: str | None = None,
    resource_type: str | None = None,
    tenant: str | None = None,
) -> list[dict[str, Any]]:
    """Findings of every customer tenant ``user`` may enter (or the one named by slug),
    filtered, most severe first then newest; each row carries its tenant's id and slug.

    The per-tenant query (at most ``limit`` rows, most severe first) is compiled once by
    the ORM and run for ``FLEET_FINDINGS_BATCH`` schemas per statement as a UNION ALL,
    each arm naming its schema explicitly: one round trip per 200 tenants instead of a
    schema switch and a query per tenant. Only schemas of tenants ``user`` may enter are
    named, so access is decided per tenant exactly as before. The connection's
    search_path is not touched."""
    from accounts.access import can_enter_tenant
    from drift.choices import rank_expression
    from tenants.selectors import customer_tenants

    tenants = customer_tenants().filter(is_active=True).order_by("slug")
    if tenant:
        tenants = tenants.filter(slug=tenant)
    allowed = [entry for entry in tenants if can_enter_tenant(user, entry)]
    if not allowed:
        return []
    fields = (
        "id",
        "severity",
        "status",
        "kind",
        "resource_type",
        "resource_id",
        "path",
        "changed_by",
        "first_seen",
        "last_seen",
    )
    queryset = DriftFinding.objects.all()
    if severity:
        queryset = queryset.filter(severity=severity)
    if status:
        queryset = queryset.filter(status=status)
    if resource_type:
        queryset = queryset.filter(resource_type=resource_type.lower())
    found = queryset.annotate(rank=rank_expression()).order_by("-rank", "-last_seen")
    sql, params = found.values("rank", *fields)[:limit].query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(DriftFinding._meta.db_table)
    # The compiled query names the table once in FROM and qualifies columns with it;
    # aliasing a schema-qualified table to that name points the whole arm at one schema.
    if sql.count(f" FROM {table}") != 1:
        raise RuntimeError("unexpected SQL for the fleet findings search")
    rows: list[dict[str, Any]] = []
    for start in range(0, len(allowed), FLEET_FINDINGS_BATCH):
        batch = allowed[start : start + FLEET_FINDINGS_BATCH]
        arms = [
            # Schema names come from the tenant table and are quoted as identifiers.
            "SELECT %s AS tenant_pk, arm.* FROM ("  # noqa: S608
            + sql.replace(f" FROM {table}", f" FROM {quote(entry.schema_name)}.{table} {table}")
            + ") arm"
            for entry in batch
        ]
        statement = (
            " UNION ALL ".join(f"({arm})" for arm in arms)
            + " ORDER BY rank DESC, last_seen DESC LIMIT %s"
        )
        arguments: list[Any] = []
        for entry in batch:
            arguments.extend([entry.pk, *params])
        arguments.append(limit)
        by_pk = {entry.pk: entry for entry in batch}
        with connection.cursor() as cursor:
            cursor.execute(statement, arguments)
            names = [column[0] for column in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                entry = by_pk[row.pop("tenant_pk")]
                rows.append({**row, "tenant": {"id": entry.pk, "slug": entry.slug}})
        rows.sort(key=lambda r: (-r["rank"], -r["last_seen"].timestamp()))
        del rows[limit:]
    return rows
