"""A tenant's simulated estate: deterministic from its seed, generated lazily, mutable.

Only the sorted id index and a little metadata per resource are held in memory; resource
bodies are generated on demand from ``(seed, tenant, index)`` and their serialised JSON is
cached within a process-wide byte budget. Control-plane writes are kept as an overlay.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import threading
import time
import uuid
from bisect import bisect_right
from typing import Any, NamedTuple

from . import shapes
from .shapes import containers, governance, layout
from .shapes.common import GenContext
from .shapes.naming import identity
from .tenants import TenantSpec, derived_guid
from .wire import dumps

DEFAULT_CACHE_BUDGET = 256 * 1024 * 1024


class Meta(NamedTuple):
    """What the query engine needs to know about a row without building it."""

    table: str
    type: str
    subscription: str
    source: tuple[Any, ...]


class ByteBudget:
    """A process-wide allowance of bytes for cached JSON, shared by all estates."""

    def __init__(self, limit: int = DEFAULT_CACHE_BUDGET) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False when the budget is spent."""
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give_back(self, size: int) -> None:
        """Release ``size`` bytes."""
        with self._lock:
            self.used = max(0, self.used - size)


SHARED_BUDGET = ByteBudget()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` deletes, rest replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Estate:
    """The resources, resource groups and subscriptions of one simulated tenant."""

    def __init__(self, spec: TenantSpec, budget: ByteBudget = SHARED_BUDGET) -> None:
        self.spec = spec
        self.token = hashlib.sha256(f"{spec.seed}:{spec.tenant_id}".encode()).hexdigest()[:6]
        self.subscription_ids = [
            derived_guid("subscription", spec.tenant_id, spec.seed, s)
            for s in range(spec.subscriptions)
        ]
        self._sub_index = {sid: s for s, sid in enumerate(self.subscription_ids)}
        self.blocks = math.ceil(spec.resources / layout.BLOCK_SIZE)
        per_sub = math.ceil(self.blocks / max(1, spec.subscriptions))
        self.groups_per_subscription = max(1, math.ceil(per_sub / 3))
        self.version = 0
        self._lock = threading.RLock()
        self._budget = budget
        self._keys: list[str] | None = None
        self._meta: dict[str, Meta] = {}
        self._custom: dict[str, dict[str, Any]] = {}
        self._json: dict[str, bytes] = {}
        self.count_cache: dict[tuple[Any, ...], int] = {}
        self._states = {
            self.subscription_ids[index]: state
            for index, state in spec.subscription_states
            if 0 <= index < len(self.subscription_ids)
        }
        # Seconds between two policy evaluations: policy states change at each.
        self.policy_interval = 60

    # ----- subscriptions -------------------------------------------------------------
    def owns_subscription(self, subscription_id: str) -> bool:
        """True when the subscription belongs to this tenant."""
        return subscription_id.lower() in self._sub_index

    def subscription_name(self, subscription_id: str) -> str:
        """Display name of one of this tenant's subscriptions."""
        index = self._sub_index[subscription_id.lower()]
        return containers.subscription_display_name(self.spec.name, index)

    def subscription_state(self, subscription_id: str) -> str:
        """The subscription's state: Enabled unless configured otherwise."""
        return self._states.get(subscription_id.lower(), "Enabled")

    def set_subscription_state(self, subscription_id: str, state: str) -> None:
        """Change a subscription's state (control interface); its row changes with it."""
        with self._lock:
            sid = subscription_id.lower()
            if sid not in self._sub_index:
                raise KeyError(subscription_id)
            self._states[sid] = state
            self._forget_json(f"/subscriptions/{sid}")
            self.version += 1
            self.count_cache.clear()

    def subscriptions_arm(self) -> list[dict[str, Any]]:
        """All subscriptions in the ``GET /subscriptions`` shape, with their states."""
        result = []
        for sid in self.subscription_ids:
            body = containers.subscription_arm(
                self.spec.tenant_id, sid, self.subscription_name(sid)
            )
            body["state"] = self.subscription_state(sid)
            result.append(body)
        return result

    # ----- index ---------------------------------------------------------------------
    def _context(self, index: int, with_rng: bool = True) -> GenContext:
        block = index // layout.BLOCK_SIZE
        subs = self.spec.subscriptions
        sub = block % subs
        group = (block // subs) % self.groups_per_subscription
        rng = random.Random(f"{self.spec.seed}:{self.spec.tenant_id}:{index}") if with_rng else None
        return GenContext(
            rng=rng,  # type: ignore[arg-type]
            tenant_id=self.spec.tenant_id,
            subscription_id=self.subscription_ids[sub],
            resource_group=containers.resource_group_name(sub, group),
            location=containers.region(group),
            index=index,
            block_start=block * layout.BLOCK_SIZE,
            token=self.token,
        )

    def _build_index(self) -> list[str]:
        meta: dict[str, Meta] = {}
        for s, sid in enumerate(self.subscription_ids):
            meta[f"/subscriptions/{sid}"] = Meta(
                "resourcecontainers", "microsoft.resources/subscriptions", sid, ("s", s)
            )
            for k in range(self.groups_per_subscription):
                rg_id = f"/subscriptions/{sid}/resourcegroups/"
                rg_id += containers.resource_group_name(s, k).lower()
                meta[rg_id] = Meta(
                    "resourcecontainers",
                    "microsoft.resources/subscriptions/resourcegroups",
                    sid,
                    ("r", s, k),
                )
        if self.spec.subscriptions:
            for kind, count in governance.TENANT_ROWS.items():
                for n in range(count):
                    key = governance.governance_id(kind, "", n, self.token).lower()
                    type_name = governance.GOVERNANCE_TYPES[kind]
                    table = shapes.table_for_type(type_name)
                    meta[key] = Meta(table, type_name, "", ("t", kind, n))
        for s, sid in enumerate(self.subscription_ids):
            for kind, count in governance.SUBSCRIPTION_ROWS.items():
                for n in range(count):
                    key = governance.governance_id(kind, sid, n, self.token).lower()
                    type_name = governance.GOVERNANCE_TYPES[kind]
                    table = shapes.table_for_type(type_name)
                    meta[key] = Meta(table, type_name, sid, ("v", kind, s, n))
        for index in range(self.spec.resources):
            ctx = self._context(index, with_rng=False)
            type_name = shapes.BLOCK[index - ctx.block_start][0]
            key = identity(ctx)[1].lower()
            table = shapes.table_for_type(type_name)
            meta[key] = Meta(table, type_name.lower(), ctx.subscription_id, ("g", index))
        self._meta = meta
        return sorted(meta)

    def sorted_keys(self) -> list[str]:
        """Lower-cased ids of every row, sorted; callers must not mutate the list."""
        keys = self._keys
        if keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = self._build_index()
                keys = self._keys
        return keys

    def meta(self, key: str) -> Meta | None:
        """Index metadata of a row (None when it does not exist)."""
        self.sorted_keys()
        return self._meta.get(key)

    def keys_after(self, after: str | None) -> tuple[list[str], int]:
        """The sorted key list and the position of the first key greater than ``after``."""
        keys = self.sorted_keys()
        return keys, (bisect_right(keys, after) if after else 0)

    # ----- bodies --------------------------------------------------------------------
    def _generate(self, meta: Meta) -> dict[str, Any]:
        source = meta.source
        if source[0] == "g":
            ctx = self._context(source[1])
            return shapes.BLOCK[source[1] - ctx.block_start][1](ctx)
        if source[0] == "s":
            sid = self.subscription_ids[source[1]]
            body = containers.subscription_row(
                self.spec.tenant_id, sid, self.subscription_name(sid)
            )
            body["properties"]["state"] = self.subscription_state(sid)
            return body
        if source[0] in ("t", "v"):
            kind, n = source[1], source[-1]
            sid = self.subscription_ids[source[2]] if source[0] == "v" else ""
            evaluation = int(time.time()) // self.policy_interval
            return governance.governance_row(
                kind, self.spec.tenant_id, sid, n, self.token, evaluation, self.policy_interval
            )
        s, k = source[1], source[2]
        env = ("prod", "dev", "test")[k % 3]
        return containers.resource_group_row(
            self.spec.tenant_id,
            self.subscription_ids[s],
            containers.resource_group_name(s, k),
            containers.region(k),
            env,
        )

    def row(self, key: str) -> dict[str, Any]:
        """A fresh copy of the current body of a row. Raises KeyError if absent."""
        meta = self.meta(key)
        if meta is None:
            raise KeyError(key)
        custom = self._custom.get(key)
        if custom is not None:
            return copy.deepcopy(custom)
        return self._generate(meta)

    def row_json(self, key: str) -> bytes:
        """The serialised body of a row (cached within the byte budget)."""
        cached = self._json.get(key)
        if cached is not None:
            return cached
        body = dumps(self.row(key))
        if self._meta[key].type == governance.GOVERNANCE_TYPES["policystate"]:
            return body  # re-evaluated all the time: never cached
        if self._budget.take(len(body)):
            self._json[key] = body
        return body

    def _forget_json(self, key: str) -> None:
        body = self._json.pop(key, None)
        if body is not None:
            self._budget.give_back(len(body))

    # ----- writes --------------------------------------------------------------------
    def _replace_keys(self, add: str | None = None, remove: str | None = None) -> None:
        keys = list(self.sorted_keys())
        if remove is not None:
            keys.remove(remove)
        if add is not None:
            keys.append(add)
            keys.sort()
        self._keys = keys
        self.version += 1
        self.count_cache.clear()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a resource (body needs ``id`` and ``type``); returns the stored row."""
        rid, type_name = str(body.get("id", "")), str(body.get("type", ""))
        parts = rid.split("/")
        if len(parts) < 3 or parts[1].lower() != "subscriptions" or not type_name:
            raise ValueError("a resource needs an id under /subscriptions/{id} and a type")
        subscription = parts[2].lower()
        if not self.owns_subscription(subscription):
            raise ValueError(f"subscription {subscription} does not belong to this tenant")
        key = rid.lower()
        with self._lock:
            if self.meta(key) is not None:
                raise FileExistsError(rid)
            lowered = [p.lower() for p in parts]
            group = (
                parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""
            )
            stored = {
                "id": rid,
                "name": parts[-1],
                "type": type_name.lower(),
                "tenantId": self.spec.tenant_id,
                "kind": "",
                "location": "westeurope",
                "resourceGroup": group.lower(),
                "subscriptionId": subscription,
                "managedBy": "",
                "sku": None,
                "plan": None,
                "properties": {},
                "tags": None,
                "identity": None,
                "zones": None,
                "extendedLocation": None,
            }
            stored.update({k: v for k, v in body.items() if k not in ("id", "type")})
            self._custom[key] = stored
            self._meta[key] = Meta(
                shapes.table_for_type(type_name), type_name.lower(), subscription, ("c",)
            )
            self._replace_keys(add=key)
            return copy.deepcopy(stored)

    def patch(self, key: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Apply a JSON merge patch to a row (``id``/``type`` are kept); returns the new row."""
        with self._lock:
            current = self.row(key)
            merged = merge_patch(current, patch)
            merged["id"], merged["type"] = current["id"], current["type"]
            if "etag" in current:
                merged["etag"] = f'W/"{uuid.uuid4()}"'
            self._custom[key] = merged
            self._forget_json(key)
            self.version += 1
            self.count_cache.clear()
            return copy.deepcopy(merged)

    def delete(self, key: str) -> dict[str, Any]:
        """Remove a row; returns its last body. Raises KeyError if absent."""
        with self._lock:
            current = self.row(key)
            self._custom.pop(key, None)
            self._forget_json(key)
            self._meta.pop(key, None)
            self._replace_keys(remove=key)
            return current

    def random_key(self, rng: random.Random, type_name: str | None = None) -> str | None:
        """A random existing key, optionally of one type (used by the mutator)."""
        keys = self.sorted_keys()
        if not keys:
            return None
        wanted = type_name.lower() if type_name else None
        for _ in range(200):
            key = keys[rng.randrange(len(keys))]
            meta = self._meta.get(key)
            if meta and meta.table == "resources" and (wanted is None or meta.type == wanted):
                return key
        return None

    def release(self) -> None:
        """Give the cached JSON back to the shared budget (tenant removed or reset)."""
        with self._lock:
            for key in list(self._json):
                self._forget_json(key)


def canonical(row: dict[str, Any]) -> str:
    """Sorted-key JSON of a row (for determinism checks)."""
    return json.dumps(row, sort_keys=True, ensure_ascii=False)
