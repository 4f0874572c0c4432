"""Reading Resource Graph's ``resourcechanges`` table: what changed, when and by whom.

Each row is a ``microsoft.resources/changes`` resource whose ``properties`` name the
changed resource (``targetResourceId``, ``targetResourceType``), the kind of change
(``changeType``: Create, Update, Delete) and ``changeAttributes`` (timestamp, changedBy,
clientType, operation, correlationId, ...), as MicrosoftDocs/azure-docs documents in
``articles/governance/resource-graph/changes/get-resource-changes.md``. A row without
those fields is reported with an error naming it, never acted on: the watch applies the
well-formed changes, keeps its watermark (so the window is read again) and the next full
pass reconciles the tenant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .clients import AzureConnection
from .errors import AzureResponseError
from .kqlquery import MAX_IDS_PER_QUERY, TableQuery, changes_since_query, resources_by_id_query
from .resourcegraph import MAX_PAGE_SIZE, MAX_SUBSCRIPTIONS_PER_QUERY, ResourcePage, _query_pages

CHANGE_TYPES = frozenset({"Create", "Update", "Delete"})


@dataclass(frozen=True)
class ChangeRecord:
    """One row of ``resourcechanges``: a change of one resource."""

    change_id: str  # the row's id, lower-cased: unique across resources
    resource_id: str  # lower-cased target resource id
    resource_type: str
    change_type: str
    timestamp: datetime
    changed_by: str
    client_type: str
    operation: str
    correlation_id: str


def parse_timestamp(text: str) -> datetime | None:
    """Azure's change timestamp (``2024-06-12T13:26:17.347+00:00`` or ``...Z``) as UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_change(row: Any) -> ChangeRecord:
    """A ChangeRecord from a ``resourcechanges`` row; AzureResponseError naming what is wrong."""
    if not isinstance(row, dict):
        raise AzureResponseError(f"resourcechanges row is not an object: {str(row)[:200]}")
    row_id = str(row.get("id") or "")
    props = row.get("properties")
    attributes = props.get("changeAttributes") if isinstance(props, dict) else None
    problems = []
    if not row_id:
        problems.append("no id")
    if not isinstance(props, dict):
        problems.append("no properties object")
        props = {}
    if not isinstance(attributes, dict):
        problems.append("no properties.changeAttributes object")
        attributes = {}
    target = str(props.get("targetResourceId") or "")
    if not target.startswith("/"):
        problems.append("properties.targetResourceId is not a resource id")
    change_type = str(props.get("changeType") or "")
    if change_type not in CHANGE_TYPES:
        problems.append(f"properties.changeType {change_type!r} is not Create, Update or Delete")
    stamp = attributes.get("timestamp")
    moment = parse_timestamp(stamp) if isinstance(stamp, str) else None
    if moment is None:
        problems.append(f"properties.changeAttributes.timestamp {stamp!r} is not a date")
    if problems:
        raise AzureResponseError(
            f"malformed resourcechanges row {row_id or '(no id)'}: " + "; ".join(problems)
        )
    assert moment is not None
    return ChangeRecord(
        change_id=row_id.lower(),
        resource_id=target.lower(),
        resource_type=str(props.get("targetResourceType") or "").lower(),
        change_type=change_type,
        timestamp=moment,
        changed_by=str(attributes.get("changedBy") or "")[:255],
        client_type=str(attributes.get("clientType") or "")[:100],
        operation=str(attributes.get("operation") or "")[:200],
        correlation_id=str(attributes.get("correlationId") or "")[:64],
    )


@dataclass(frozen=True)
class ChangeBatch:
    """The changes of one read: the well-formed ones and an error per malformed row."""

    records: list[ChangeRecord]
    malformed: list[str]


def read_changes(
    conn: AzureConnection, subscriptions: Sequence[str], since: datetime
) -> ChangeBatch:
    """Every change newer than ``since`` in the given subscriptions (all pages read).

    Raises AzureAccessError (throttled, refused, malformed page): the caller has then
    read nothing it may act on.
    """
    query = changes_since_query(since)
    records: list[ChangeRecord] = []
    malformed: list[str] = []
    for page in _pages(conn, subscriptions, query):
        for row in page.rows:
            try:
                records.append(parse_change(row))
            except AzureResponseError as exc:
                malformed.append(str(exc))
    return ChangeBatch(records, malformed)


def read_resources(
    conn: AzureConnection, subscriptions: Sequence[str], query: TableQuery, ids: Sequence[str]
) -> Iterator[ResourcePage]:
    """Pages of ``query`` narrowed to ``ids`` (batched MAX_IDS_PER_QUERY ids per query)."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), MAX_IDS_PER_QUERY):
        narrowed = resources_by_id_query(query, ordered[start : start + MAX_IDS_PER_QUERY])
        yield from _pages(conn, subscriptions, narrowed)


def _pages(
    conn: AzureConnection, subscriptions: Sequence[str], query: TableQuery
) -> Iterator[ResourcePage]:
    ordered = sorted({s.lower() for s in subscriptions})
    counter = [0]
    for start in range(0, len(ordered), MAX_SUBSCRIPTIONS_PER_QUERY):
        batch = tuple(ordered[start : start + MAX_SUBSCRIPTIONS_PER_QUERY])
        yield from _query_pages(conn, batch, query, MAX_PAGE_SIZE, counter)
