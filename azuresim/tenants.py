"""Simulated tenant definitions (what the control interface and config file register)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from typing import Any


def derived_guid(*parts: object) -> str:
    """A GUID derived deterministically from ``parts``."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


@dataclass(frozen=True)
class TenantSpec:
    """One simulated Entra tenant, its app registration and the size of its estate."""

    tenant_id: str
    client_id: str
    client_secret: str
    subscriptions: int = 2
    resources: int = 100
    seed: int = 0
    name: str = "Contoso"
    certificate_pem: str | None = None
    # (subscription index, state) for subscriptions not Enabled: Warned, PastDue, Disabled,
    # Deleted (ARM's SubscriptionState values).
    subscription_states: tuple[tuple[int, str], ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TenantSpec:
        """Validate a JSON object; missing ids are derived from ``seed`` and ``name``."""
        seed = int(data.get("seed", 0))
        name = str(data.get("name") or "Contoso")
        tenant_id = str(data.get("tenant_id") or derived_guid("tenant", name, seed)).lower()
        client_id = str(data.get("client_id") or derived_guid("client", tenant_id)).lower()
        spec = cls(
            tenant_id=str(uuid.UUID(tenant_id)),
            client_id=client_id,
            client_secret=str(data.get("client_secret") or "sim-secret"),
            subscriptions=int(data.get("subscriptions", 2)),
            resources=int(data.get("resources", 100)),
            seed=seed,
            name=name,
            certificate_pem=data.get("certificate_pem"),
            subscription_states=_states(data.get("subscription_states") or {}),
        )
        if spec.subscriptions < 0 or spec.resources < 0:
            raise ValueError("subscriptions and resources must not be negative")
        if spec.resources and not spec.subscriptions:
            raise ValueError("a tenant with resources needs at least one subscription")
        return spec

    def public_dict(self) -> dict[str, Any]:
        """JSON-able form without the certificate body."""
        data = asdict(self)
        data["certificate_pem"] = bool(self.certificate_pem)
        data["subscription_states"] = {str(i): state for i, state in self.subscription_states}
        return data


SUBSCRIPTION_STATES = ("Enabled", "Warned", "PastDue", "Disabled", "Deleted")


def check_state(value: object) -> str:
    """One of ARM's SubscriptionState values (case-insensitive input); ValueError otherwise."""
    for state in SUBSCRIPTION_STATES:
        if str(value).lower() == state.lower():
            return state
    raise ValueError(f"subscription state must be one of {', '.join(SUBSCRIPTION_STATES)}")


def _states(data: Any) -> tuple[tuple[int, str], ...]:
    """``{"<subscription index>": "Disabled", ...}`` as sorted (index, state) pairs."""
    if not isinstance(data, dict):
        raise ValueError("subscription_states must be an object of index -> state")
    return tuple(sorted((int(index), check_state(state)) for index, state in data.items()))
