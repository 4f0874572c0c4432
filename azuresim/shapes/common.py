"""Helpers shared by the resource shape builders: the generation context and common fields."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2023, 1, 2, 8, 0, 0, tzinfo=UTC)

OWNERS = ["alice@contoso.com", "José Müller", "Zoë Ångström", "田中 太郎", "ops-team", "Ørjan Bø"]
ENVS = ["prod", "dev", "test", "staging"]


def guid(rng: random.Random) -> str:
    """A deterministic (rng-driven) version-4 GUID."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def azure_time(rng: random.Random, spread_days: int = 700) -> str:
    """An ISO timestamp with Azure's seven fractional digits, deterministic from ``rng``."""
    moment = EPOCH + timedelta(seconds=rng.randrange(spread_days * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(10_000_000):07d}Z"


def weak_etag(rng: random.Random) -> str:
    """A network-style weak etag."""
    return f'W/"{guid(rng)}"'


@dataclass
class GenContext:
    """Everything a builder needs to produce one resource row deterministically."""

    rng: random.Random
    tenant_id: str
    subscription_id: str
    resource_group: str
    location: str
    index: int
    block_start: int
    token: str

    def name(self, prefix: str, offset: int | None = None) -> str:
        """The name of this resource (or of the block sibling at ``offset``) with ``prefix``."""
        index = self.index if offset is None else self.block_start + offset
        return f"{prefix}-{self.token}-{index:05d}"

    def rg_id(self, segment: str = "resourceGroups") -> str:
        """The resource group id, with the ``resourceGroups`` segment spelled as given."""
        return f"/subscriptions/{self.subscription_id}/{segment}/{self.resource_group}"

    def rid(self, provider_type: str, name: str, segment: str = "resourceGroups") -> str:
        """A resource id under this resource group, e.g. ``Microsoft.Network/virtualNetworks``."""
        return f"{self.rg_id(segment)}/providers/{provider_type}/{name}"

    def tags(self) -> dict[str, str] | None:
        """Tags as people really set them: sometimes none, sometimes unicode owners."""
        roll = self.rng.random()
        if roll < 0.2:
            return None
        tags = {"environment": self.rng.choice(ENVS), "owner": self.rng.choice(OWNERS)}
        if roll > 0.6:
            tags["costCenter"] = f"CC-{self.rng.randrange(1000, 9999)}"
        if roll > 0.9:
            tags["Projekt"] = "Überwachung"
        return tags


def row(
    ctx: GenContext,
    type_name: str,
    name: str,
    rid: str,
    properties: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """An Azure Resource Graph row (``resources`` table column set) for one resource."""
    result: dict[str, Any] = {
        "id": rid,
        "name": name,
        "type": type_name.lower(),
        "tenantId": ctx.tenant_id,
        "kind": extra.pop("kind", ""),
        "location": extra.pop("location", ctx.location),
        "resourceGroup": ctx.resource_group.lower(),
        "subscriptionId": ctx.subscription_id,
        "managedBy": extra.pop("managed_by", ""),
        "sku": extra.pop("sku", None),
        "plan": None,
        "properties": properties,
        "tags": extra.pop("tags", ctx.tags()),
        "identity": extra.pop("identity", None),
        "zones": extra.pop("zones", None),
        "extendedLocation": None,
    }
    result.update(extra)
    return result


def system_identity(ctx: GenContext) -> dict[str, Any] | None:
    """A system-assigned managed identity half of the time."""
    if ctx.rng.random() < 0.5:
        return None
    return {"type": "SystemAssigned", "principalId": guid(ctx.rng), "tenantId": ctx.tenant_id}
