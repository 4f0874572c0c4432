"""Resource Graph's change tables: ``resourcechanges`` and ``resourcecontainerchanges``.

Every write the simulator makes (control API and mutator: create, update, delete) adds
one change row, shaped as Azure documents it (MicrosoftDocs/azure-docs,
``articles/governance/resource-graph/changes/get-resource-changes.md`` and
``changes-resource-spec.md``): a ``microsoft.resources/changes`` resource that extends the
changed one, whose ``properties`` carry ``targetResourceId``, ``targetResourceType``,
``changeType`` (Create / Update / Delete), ``changeAttributes`` (timestamp, changedBy,
changedByType, clientType, operation, correlationId, previous/new snapshot ids,
changesCount) and, for updates only, ``changes`` keyed by dotted property path with
``previousValue`` / ``newValue`` / ``propertyChangeType``. Creates and deletes count 0
changes, as Azure says. Rows are kept 14 days and become visible after ``lag`` seconds
(Azure puts 95 % of changes into the table within about 30 s).
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .shapes.governance import extension_row

RETENTION = timedelta(days=14)
DEFAULT_LAG_SECONDS = 0.0
CHANGE_TYPE = "microsoft.resources/changes"
CONTAINER_PREFIXES = (
    "microsoft.resources/subscriptions",
    "microsoft.management/managementgroups",
)
# Top-level keys that identify a row rather than configure it: never reported as changes.
_IDENTITY_KEYS = frozenset({"id", "name", "type", "tenantId", "subscriptionId", "resourceGroup"})


@dataclass(frozen=True)
class ChangeMeta:
    """What the query engine reads without building the row (same fields as an estate's)."""

    table: str
    type: str
    subscription: str


@dataclass
class _Stored:
    key: str
    when: datetime
    visible_at: datetime
    meta: ChangeMeta
    row: dict[str, Any]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", out)
    elif prefix:
        out[prefix] = value


def _text(value: Any) -> str:
    """Change values are strings in Azure's records (``"null"`` for a missing value)."""
    return value if isinstance(value, str) else json.dumps(value)


def property_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Azure's ``changes`` dictionary between two rows: dotted path -> values and kind."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    _flatten({k: v for k, v in before.items() if k not in _IDENTITY_KEYS}, "", old)
    _flatten({k: v for k, v in after.items() if k not in _IDENTITY_KEYS}, "", new)
    changes: dict[str, dict[str, Any]] = {}
    for path in sorted(set(old) | set(new)):
        if path in old and path in new and old[path] == new[path]:
            continue
        entry: dict[str, Any] = {}
        if path in old:
            entry["previousValue"] = _text(old[path])
        if path in new:
            entry["newValue"] = _text(new[path])
        entry["propertyChangeType"] = (
            "Update" if path in old and path in new else ("Insert" if path in new else "Remove")
        )
        changes[path] = entry
    return changes


def _snapshot_id(rng: random.Random) -> str:
    head, tail = rng.getrandbits(63), (rng.getrandbits(32), rng.getrandbits(32))
    return f"{head:020d}_{uuid.uuid4()}_{tail[0]:010d}_{tail[1]:010d}"


def table_for_change(resource_type: str) -> str:
    """Changes of subscriptions and resource groups go to ``resourcecontainerchanges``."""
    lowered = resource_type.lower()
    if lowered.startswith(CONTAINER_PREFIXES):
        return "resourcecontainerchanges"
    return "resourcechanges"


def caller_fields(caller: Any, client_type: str = "") -> tuple[str, str, str]:
    """(changedBy, changedByType, clientType) of a simulator caller.

    A user is named by e-mail (clientType "Azure Portal" unless the caller says which);
    an application by its client id, which is also the clientType of an unknown client.
    """
    upn = getattr(caller, "upn", None)
    app_id = str(getattr(caller, "app_id", "") or "")
    client = client_type
    if upn:
        return str(upn), "User", client or "Azure Portal"
    return app_id or "System", "AppId" if app_id else "Other", client or app_id or "Unknown"


class ChangeFeed:
    """Change rows of every tenant, visible after the ingestion lag, kept 14 days."""

    def __init__(self, lag_seconds: float = DEFAULT_LAG_SECONDS) -> None:
        self.lag = timedelta(seconds=max(0.0, float(lag_seconds)))
        self._rows: dict[str, list[_Stored]] = {}  # tenant id -> rows, oldest first
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._previous_snapshot: dict[str, str] = {}

    def set_lag(self, seconds: float) -> None:
        """Change the ingestion delay of changes recorded from now on."""
        self.lag = timedelta(seconds=max(0.0, float(seconds)))

    def record(
        self,
        tenant_id: str,
        change_type: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        caller: Any,
        when: datetime | None = None,
        *,
        client_type: str = "",
    ) -> dict[str, Any]:
        """Add the change row of one write (``Create``, ``Update`` or ``Delete``); returns it."""
        body = after if after is not None else before
        assert body is not None, "a change needs the row before or after it"
        moment = when or datetime.now(UTC)
        target = str(body["id"])
        resource_type = str(body.get("type") or "").lower()
        parts = target.split("/")
        lowered = [p.lower() for p in parts]
        group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""
        changed_by, by_type, client = caller_fields(caller, client_type)
        with self._lock:
            change_id = f"{int(moment.timestamp() * 1e7):020d}_{uuid.uuid4()}"
            previous = self._previous_snapshot.get(target.lower(), "")
            new_snapshot = "" if change_type == "Delete" else _snapshot_id(self._rng)
            self._previous_snapshot[target.lower()] = new_snapshot
        action = "delete" if change_type == "Delete" else "write"
        changes = (
            property_changes(before or {}, after or {})
            if change_type == "Update" and before is not None and after is not None
            else {}
        )
        properties: dict[str, Any] = {
            "targetResourceId": target,
            "targetResourceType": resource_type,
            "changeType": change_type,
            "changeAttributes": {
                "previousResourceSnapshotId": previous,
                "newResourceSnapshotId": new_snapshot,
                "correlationId": str(uuid.uuid4()),
                "changedByType": by_type,
                "changesCount": len(changes),
                "clientType": client,
                "changedBy": changed_by,
                "operation": f"{resource_type}/{action}",
                "timestamp": _stamp(moment),
            },
        }
        if change_type == "Update":
            properties["changes"] = changes
        table = table_for_change(resource_type)
        row = extension_row(
            tenant_id,
            parts[2].lower() if len(parts) > 2 else "",
            f"{target}/providers/Microsoft.Resources/changes/{change_id}",
            CHANGE_TYPE,
            properties,
            resource_group=group.lower(),
        )
        stored = _Stored(
            row["id"].lower(),
            moment,
            moment + self.lag,
            ChangeMeta(table, CHANGE_TYPE, row["subscriptionId"]),
            row,
        )
        with self._lock:
            rows = self._rows.setdefault(tenant_id.lower(), [])
            rows.append(stored)
            cutoff = moment - RETENTION
            if rows[0].when < cutoff:
                rows[:] = [item for item in rows if item.when >= cutoff]
        return row

    def inject(self, tenant_id: str, row: dict[str, Any], table: str = "resourcechanges") -> None:
        """Add a row exactly as given (fault tests: a malformed row as a bad feed would send)."""
        now = datetime.now(UTC)
        meta = ChangeMeta(table, CHANGE_TYPE, str(row.get("subscriptionId") or "").lower())
        with self._lock:
            self._rows.setdefault(tenant_id.lower(), []).append(
                _Stored(str(row.get("id") or uuid.uuid4()).lower(), now, now, meta, row)
            )

    def visible(self, tenant_id: str, now: datetime | None = None) -> list[_Stored]:
        """The tenant's rows that can be queried now, sorted by lower-cased id."""
        moment = now or datetime.now(UTC)
        with self._lock:
            rows = list(self._rows.get(tenant_id.lower(), ()))
        return sorted(
            (r for r in rows if r.visible_at <= moment and r.when >= moment - RETENTION),
            key=lambda r: r.key,
        )

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant's changes."""
        with self._lock:
            self._rows.pop(tenant_id.lower(), None)

    def clear(self) -> None:
        """Drop every change."""
        with self._lock:
            self._rows.clear()
            self._previous_snapshot.clear()
