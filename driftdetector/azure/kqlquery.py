"""The Resource Graph queries the product sends, built only from the documented subset.

Resource Graph accepts a narrower KQL than Kusto (MicrosoftDocs/azure-docs,
``articles/governance/resource-graph/concepts/query-language.md``): ``union`` takes a
single table per operator (``T | union [kind=inner|outer] [withsource=Col] Table``), at
most three union legs, and a cross-table union only between Resources and
ResourceContainers. Anything else fails on real Azure with HTTP 400 on the first page, so
the builder refuses it before a query is ever sent.

Collection runs one query per table, each ``order by id asc`` (paging with ``$skipToken``
is only stable that way). Pure module: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

# Tables named in the query-language reference (lower-cased; Resource Graph table names
# are case-insensitive).
DOCUMENTED_TABLES = frozenset(
    {
        "advisorresources",
        "alertsmanagementresources",
        "appserviceresources",
        "authorizationresources",
        "awsresources",
        "azurebusinesscontinuityresources",
        "chaosresources",
        "communitygalleryresources",
        "computeresources",
        "desktopvirtualizationresources",
        "dnsresources",
        "edgeorderresources",
        "elasticsanresources",
        "extendedlocationresources",
        "featureresources",
        "guestconfigurationresources",
        "healthresourcechanges",
        "healthresources",
        "insightsresources",
        "iotsecurityresources",
        "kubernetesconfigurationresources",
        "kustoresources",
        "maintenanceresources",
        "managedservicesresources",
        "migrateresources",
        "networkresources",
        "orbitalresources",
        "patchassessmentresources",
        "patchinstallationresources",
        "policyresources",
        "recoveryservicesresources",
        "resourcechanges",
        "resourcecontainerchanges",
        "resourcecontainers",
        "resources",
        "securityresources",
        "servicefabricresources",
        "servicehealthresources",
        "spotresources",
        "supportresources",
        "tagsresources",
    }
)
CROSS_TABLE_UNION = frozenset({"resources", "resourcecontainers"})
MAX_UNION_LEGS = 3
UNION_KINDS = ("inner", "outer")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class QueryBuildError(ValueError):
    """The query would leave Resource Graph's documented subset."""


def _literal(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise QueryBuildError(f"control characters are not allowed in a literal: {value!r}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _field(name: str) -> str:
    if not _FIELD.fullmatch(name):
        raise QueryBuildError(f"'{name}' is not a column or dotted property path")
    return name


def _table(name: str) -> str:
    lowered = name.lower()
    if lowered not in DOCUMENTED_TABLES:
        raise QueryBuildError(f"'{name}' is not a documented Resource Graph table")
    return lowered


@dataclass(frozen=True)
class Clause:
    """One ``where`` condition in KQL text, built only by the functions below."""

    kql: str


def field_is(name: str, value: str) -> Clause:
    """``name =~ 'value'`` (case-insensitive equality)."""
    return Clause(f"{_field(name)} =~ {_literal(value)}")


def field_in(name: str, values: Iterable[str]) -> Clause:
    """``name in~ ('a', 'b')`` (case-insensitive membership)."""
    items = [_literal(v) for v in values]
    if not items:
        raise QueryBuildError("an 'in~' list needs at least one value")
    return Clause(f"{_field(name)} in~ ({', '.join(items)})")


def time_after(name: str, moment: datetime) -> Clause:
    """``todatetime(name) > datetime(<ISO 8601 UTC>)``: the form Azure's change-table
    examples use (the column is dynamic, so it is converted before comparing)."""
    if moment.tzinfo is None:
        raise QueryBuildError("a datetime literal needs an aware datetime (UTC)")
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Clause(f"todatetime({_field(name)}) > datetime({stamp})")


def any_of(*clauses: Clause) -> Clause:
    """``(a or b ...)``."""
    if not clauses:
        raise QueryBuildError("'any_of' needs at least one clause")
    return Clause("(" + " or ".join(c.kql for c in clauses) + ")")


def all_of(*clauses: Clause) -> Clause:
    """``(a and b ...)``."""
    if not clauses:
        raise QueryBuildError("'all_of' needs at least one clause")
    return Clause("(" + " and ".join(c.kql for c in clauses) + ")")


@dataclass(frozen=True)
class UnionLeg:
    """``| union [kind=...] [withsource=...] table``: one table per union, as documented."""

    table: str
    kind: str | None = None
    withsource: str | None = None


def build_query(
    table: str,
    *,
    where: Sequence[Clause] = (),
    union: Sequence[UnionLeg] = (),
    project: Sequence[str] = (),
) -> str:
    """KQL for ``table`` [``| union ...``] [``| where ...``] [``| project ...``] sorted by id.

    Raises QueryBuildError for anything Resource Graph documents as refused: an unknown
    table, more than three union legs, a cross-table union other than Resources with
    ResourceContainers, a union kind other than inner/outer.
    """
    main = _table(table)
    parts = [main]
    if len(union) + 1 > MAX_UNION_LEGS:
        raise QueryBuildError(
            f"at most {MAX_UNION_LEGS} union legs are allowed in one Resource Graph query"
        )
    for leg in union:
        other = _table(leg.table)
        if other != main and {main, other} != CROSS_TABLE_UNION:
            raise QueryBuildError(
                f"'{main} | union {other}': a union is allowed within one table or between "
                "Resources and ResourceContainers only"
            )
        words = ["union"]
        if leg.kind is not None:
            if leg.kind not in UNION_KINDS:
                raise QueryBuildError(f"union kind must be inner or outer, not '{leg.kind}'")
            words.append(f"kind={leg.kind}")
        if leg.withsource is not None:
            if not _IDENT.fullmatch(leg.withsource):
                raise QueryBuildError(f"'{leg.withsource}' is not a column name")
            words.append(f"withsource={leg.withsource}")
        words.append(other)
        parts.append(" ".join(words))
    for clause in where:
        if not isinstance(clause, Clause):
            raise QueryBuildError("where conditions must be built with field_is/field_in/...")
        parts.append(f"where {clause.kql}")
    if project:
        columns = [_field(c) for c in project]
        if "id" not in columns:
            raise QueryBuildError("a projection must keep 'id' (pages are sorted by it)")
        parts.append("project " + ", ".join(columns))
    parts.append("order by id asc")
    return "\n| ".join(parts)


@dataclass(frozen=True)
class TableQuery:
    """One collection query: the table it reads, its KQL, and the resource types it returns.

    ``types`` is None when the query returns the whole table; otherwise only rows of those
    types can come from it, so only stored rows of those types may be tombstoned when the
    query completes without them.
    """

    table: str
    text: str
    types: frozenset[str] | None = None

    def covers(self, resource_type: str) -> bool:
        """True when a stored resource of this type would be returned by this query."""
        lowered = resource_type.lower()
        if table_for_type(lowered) != self.table:
            return False
        return self.types is None or lowered in self.types


ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
ROLE_DEFINITION = "microsoft.authorization/roledefinitions"
POLICY_ASSIGNMENT = "microsoft.authorization/policyassignments"
POLICY_EXEMPTION = "microsoft.authorization/policyexemptions"


def table_for_type(resource_type: str) -> str:
    """The Resource Graph table holding a resource type (Azure's supported-tables reference)."""
    lowered = resource_type.lower()
    if lowered.startswith("microsoft.resources/subscriptions") or lowered.startswith(
        "microsoft.management/managementgroups"
    ):
        return "resourcecontainers"
    if lowered.startswith("microsoft.authorization/policy") or lowered.startswith(
        "microsoft.policyinsights/"
    ):
        return "policyresources"
    if lowered.startswith("microsoft.authorization/"):
        return "authorizationresources"
    return "resources"


def _collection_filters() -> dict[str, Clause]:
    """The ``where`` of each collection query that does not read its whole table."""
    return {
        "authorizationresources": any_of(
            field_is("type", ROLE_ASSIGNMENT),
            all_of(field_is("type", ROLE_DEFINITION), field_is("properties.type", "CustomRole")),
        ),
        "policyresources": field_in("type", [POLICY_ASSIGNMENT, POLICY_EXEMPTION]),
    }


_TABLE_TYPES = {
    "authorizationresources": frozenset({ROLE_ASSIGNMENT, ROLE_DEFINITION}),
    "policyresources": frozenset({POLICY_ASSIGNMENT, POLICY_EXEMPTION}),
}


def collection_queries() -> tuple[TableQuery, ...]:
    """The four queries of a collection pass, in the order they run.

    Role definitions: only custom ones (built-in roles are the same in every tenant and
    would flood it); classic administrators are left out. Policy: assignments and
    exemptions only; definitions and the policy states, whose compliance fields move on
    every evaluation, would drift for ever.
    """
    filters = _collection_filters()
    return tuple(
        TableQuery(
            table,
            build_query(table, where=[filters[table]] if table in filters else []),
            _TABLE_TYPES.get(table),
        )
        for table in (
            "resources",
            "resourcecontainers",
            "authorizationresources",
            "policyresources",
        )
    )


COLLECTION_QUERIES = collection_queries()

CHANGE_TABLE = "resourcechanges"
CHANGE_TIMESTAMP = "properties.changeAttributes.timestamp"
# Ids per ``where id in~ (...)`` query of the watch. A page holds at most 1,000 rows, so
# one batch is one page; 200 ids keep the query text around 40 KB.
MAX_IDS_PER_QUERY = 200


def changes_since_query(since: datetime) -> TableQuery:
    """The watch's query: every row of ``resourcechanges`` newer than ``since``, by id."""
    return TableQuery(
        CHANGE_TABLE, build_query(CHANGE_TABLE, where=[time_after(CHANGE_TIMESTAMP, since)])
    )


def resources_by_id_query(query: TableQuery, resource_ids: Sequence[str]) -> TableQuery:
    """A collection query narrowed to the given ids (``id in~ (...)``), its filter kept."""
    if not 1 <= len(resource_ids) <= MAX_IDS_PER_QUERY:
        raise QueryBuildError(f"between 1 and {MAX_IDS_PER_QUERY} ids per query")
    if query not in COLLECTION_QUERIES:
        raise QueryBuildError("only a collection query can be narrowed to ids")
    where = [field_in("id", resource_ids)]
    extra = _collection_filters().get(query.table)
    if extra is not None:
        where.append(extra)
    return TableQuery(query.table, build_query(query.table, where=where), query.types)
