"""Pure bookkeeping of one page of a collection pass: what is new, changed, restored, unchanged.

No Django here: the service feeds it the normalised rows of a page and what the database
holds for those ids, and writes what it decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Observed:
    """One resource as seen in this pass, normalised."""

    resource_id: str
    resource_type: str
    resource_name: str
    subscription_id: str
    resource_group: str
    location: str
    config: dict[str, Any]
    config_hash: str
    source_hash: str = ""


@dataclass(frozen=True)
class Stored:
    """What the database holds for a resource id (without its config, which is rarely needed)."""

    pk: int
    config_hash: str
    deleted: bool
    source_hash: str = ""


@dataclass
class PagePlan:
    """Decisions for one page."""

    created: list[Observed] = field(default_factory=list)
    updated: list[tuple[Stored, Observed]] = field(default_factory=list)
    restored: list[tuple[Stored, Observed]] = field(default_factory=list)
    unchanged: list[tuple[Stored, Observed]] = field(default_factory=list)


def plan_page(
    observed: Iterable[Observed],
    stored: dict[str, Stored],
    *,
    differs: Callable[[Stored, Observed], bool] | None = None,
) -> PagePlan:
    """Classify each observed resource against the stored state.

    By default a resource changed when its hash differs; ``differs`` replaces that test
    (the benchmark's naive mode diffs every stored config instead).
    """
    plan = PagePlan()
    for item in observed:
        previous = stored.get(item.resource_id)
        if previous is None:
            plan.created.append(item)
        elif previous.deleted:
            plan.restored.append((previous, item))
        elif differs(previous, item) if differs else previous.config_hash != item.config_hash:
            plan.updated.append((previous, item))
        else:
            plan.unchanged.append((previous, item))
    return plan


def observe(
    resource: dict[str, Any], normalized: dict[str, Any], config_hash: str, source_hash: str = ""
) -> Observed:
    """Pull the indexed columns out of a normalised resource."""
    resource_id = str(normalized["id"])
    return Observed(
        resource_id=resource_id,
        resource_type=str(normalized.get("type") or ""),
        resource_name=str(resource.get("name") or resource_id.rsplit("/", 1)[-1])[:400],
        subscription_id=str(normalized.get("subscriptionId") or _subscription_of(resource_id)),
        resource_group=str(normalized.get("resourceGroup") or ""),
        location=str(normalized.get("location") or ""),
        config=normalized,
        config_hash=config_hash,
        source_hash=source_hash,
    )


def _subscription_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    if len(parts) > 2 and parts[1] == "subscriptions":
        return parts[2]
    return ""
