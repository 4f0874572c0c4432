"""Everything the simulator knows: tenants and estates, faults, throttling, Activity Log."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from .activitylog import DEFAULT_LAG_SECONDS, ActivityLog, Caller
from .changes import ChangeFeed
from .estate import SHARED_BUDGET, ByteBudget, Estate
from .faults import FaultBook
from .msgraph import AuditFeed, GraphAccess
from .signin import Directory
from .tenants import TenantSpec
from .throttle import Throttle
from .tokens import TokenSigner


@dataclass
class SimOptions:
    """Tunables of one simulator instance."""

    throttling: str = "off"
    subscription_page_size: int = 50
    activity_page_size: int = 100
    graph_default_top: int = 100
    graph_429_retry_after: bool = False
    token_lifetime: int = 3599
    policy_evaluation_seconds: int = 60
    # Seconds between an Activity Log event and the moment it can be queried.
    activity_lag: float = DEFAULT_LAG_SECONDS
    # Seconds between a write and its row in Resource Graph's change tables.
    changes_lag: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimOptions:
        """Pick the known keys from a config mapping."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _client(caller: Any) -> str:
    """The clientType a control-API caller names (``{"upn": ..., "client_type": ...}``)."""
    return str(caller.get("client_type") or "") if isinstance(caller, dict) else ""


class SimState:
    """Shared, thread-safe state behind every handler."""

    def __init__(self, options: SimOptions | None = None, budget: ByteBudget = SHARED_BUDGET):
        self.options = options or SimOptions()
        self.signer = TokenSigner()
        self.directory = Directory()
        self.faults = FaultBook()
        self.throttle = Throttle(self.options.throttling)
        self.activity = ActivityLog(self.options.activity_lag)
        self.changes = ChangeFeed(self.options.changes_lag)
        self.graph_access = GraphAccess()
        self.audit_feed = AuditFeed()
        self.requests: Counter[str] = Counter()
        # The x-ms-client-request-id (ARM) / client-request-id (Graph) of recent requests,
        # newest last: tests follow a request id from the product's API call to Azure.
        self.client_request_ids: deque[str] = deque(maxlen=5000)
        self.started = time.time()
        self.mutator: Any = None
        self._budget = budget
        self._estates: dict[str, Estate] = {}
        self._sub_owner: dict[str, str] = {}
        self._lock = threading.RLock()

    # ----- tenants -------------------------------------------------------------------
    def register(self, spec: TenantSpec) -> Estate:
        """Add (or replace) a tenant and its estate."""
        with self._lock:
            self.unregister(spec.tenant_id)
            estate = Estate(spec, self._budget)
            estate.policy_interval = self.options.policy_evaluation_seconds
            self._estates[spec.tenant_id] = estate
            for sid in estate.subscription_ids:
                self._sub_owner[sid] = spec.tenant_id
            return estate

    def unregister(self, tenant_id: str) -> bool:
        """Remove a tenant, its estate and its Activity Log; False if unknown."""
        with self._lock:
            estate = self._estates.pop(tenant_id.lower(), None)
            if estate is None:
                return False
            for sid in estate.subscription_ids:
                self._sub_owner.pop(sid, None)
            self.activity.forget(estate.subscription_ids)
            self.changes.forget(tenant_id)
            self.audit_feed.forget(tenant_id)
            estate.release()
            return True

    def estate(self, tenant_id: str) -> Estate | None:
        """The estate of a tenant, or None."""
        return self._estates.get(tenant_id.lower())

    def estates(self) -> list[Estate]:
        """All registered estates."""
        return list(self._estates.values())

    def estate_for_subscription(self, subscription_id: str) -> Estate | None:
        """The estate owning a subscription, or None."""
        tenant = self._sub_owner.get(subscription_id.lower())
        return self._estates.get(tenant) if tenant else None

    def estate_for_resource(self, resource_id: str) -> Estate:
        """The estate owning a resource id; raises LookupError when none does."""
        parts = resource_id.split("/")
        if len(parts) < 3 or parts[1].lower() != "subscriptions":
            raise LookupError(f"'{resource_id}' is not a subscription-scoped resource id")
        estate = self.estate_for_subscription(parts[2])
        if estate is None:
            raise LookupError(f"no simulated tenant owns subscription {parts[2]}")
        return estate

    # ----- writes (control interface and mutator) ------------------------------------
    def create_resource(self, body: dict[str, Any], caller: Any) -> dict[str, Any]:
        """Create a resource and record the write in the Activity Log."""
        estate = self.estate_for_resource(str(body.get("id", "")))
        stored = estate.create(body)
        who = Caller.from_value(caller)
        self.activity.record(estate.spec.tenant_id, stored["id"], "write", who)
        self.changes.record(
            estate.spec.tenant_id, "Create", None, stored, who, client_type=_client(caller)
        )
        return stored

    def modify_resource(
        self, resource_id: str, patch: dict[str, Any], caller: Any
    ) -> dict[str, Any]:
        """Merge-patch a resource and record the write in the Activity Log."""
        estate = self.estate_for_resource(resource_id)
        before = estate.row(resource_id.lower())
        stored = estate.patch(resource_id.lower(), patch)
        who = Caller.from_value(caller)
        self.activity.record(estate.spec.tenant_id, stored["id"], "write", who)
        self.changes.record(
            estate.spec.tenant_id, "Update", before, stored, who, client_type=_client(caller)
        )
        return stored

    def fail_write(self, resource_id: str, caller: Any) -> list[dict[str, Any]]:
        """A write Azure refused: Started and Failed events, the resource unchanged."""
        estate = self.estate_for_resource(resource_id)
        stored = estate.row(resource_id.lower())
        return self.activity.record(
            estate.spec.tenant_id,
            stored["id"],
            "write",
            Caller.from_value(caller),
            outcome="failed",
        )

    def invoke_action(self, resource_id: str, action: str, caller: Any) -> list[dict[str, Any]]:
        """A POST ``.../{action}/action`` (listKeys, ...): events, nothing changed."""
        estate = self.estate_for_resource(resource_id)
        stored = estate.row(resource_id.lower())
        return self.activity.record(
            estate.spec.tenant_id,
            stored["id"],
            "action",
            Caller.from_value(caller),
            action_name=action,
        )

    def delete_resource(self, resource_id: str, caller: Any) -> dict[str, Any]:
        """Delete a resource and record the delete in the Activity Log."""
        estate = self.estate_for_resource(resource_id)
        removed = estate.delete(resource_id.lower())
        who = Caller.from_value(caller)
        self.activity.record(estate.spec.tenant_id, removed["id"], "delete", who)
        self.changes.record(
            estate.spec.tenant_id, "Delete", removed, None, who, client_type=_client(caller)
        )
        return removed

    def reset(self) -> None:
        """Drop tenants, faults, throttling state and events; stop the mutator."""
        if self.mutator is not None:
            self.mutator.stop()
            self.mutator = None
        with self._lock:
            for tenant_id in list(self._estates):
                self.unregister(tenant_id)
        self.faults.clear()
        self.throttle = Throttle(self.options.throttling)
        self.activity.clear()
        self.activity.set_lag(self.options.activity_lag)
        self.changes.clear()
        self.changes.set_lag(self.options.changes_lag)
        self.graph_access.clear()
        self.audit_feed.clear()
        self.requests.clear()
        self.client_request_ids.clear()
