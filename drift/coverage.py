"""How much of what the security catalogues audit the rule pack covers.

Pure module (no Django). ``audited_properties.json`` lists, per resource type, the
properties (dotted paths of the normalised configuration, ``*`` for any named item) and
whole-resource events (``(added)``, ``(removed)``) that Prowler's Azure checks, Azure
Policy built-ins and the Microsoft cloud security benchmark audit. A property is covered
when a pack rule for that type (generic ``*`` rules included) matches its path and kind;
the catch-all rules (any resource created, tags, descriptions) do not count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drift.compare import Change, ResourceDrift
from drift.severity import Rule, RuleSet, build_rule_set

CATALOGUE_PATH = Path(__file__).with_name("audited_properties.json")
CATCH_ALL = frozenset({"any-added", "any-tags", "any-description"})
EVENTS = {"(added)": "added", "(removed)": "removed"}


@dataclass(frozen=True)
class TypeCoverage:
    """One resource type: its audited properties, and which the pack covers."""

    resource_type: str
    audited: tuple[str, ...]
    covered: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(p for p in self.audited if p not in self.covered)


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, dict[str, str]]:
    """resource type -> {audited property or event: the check or control that audits it}."""
    return json.loads(path.read_text("utf-8"))["types"]


def _probe(resource_type: str, prop: str) -> tuple[ResourceDrift, Change]:
    if prop in EVENTS:
        kind = EVENTS[prop]
        change = Change((), kind, None, None)
        return ResourceDrift("/probe", resource_type, kind, (change,)), change
    change = Change(tuple(part.replace("*", "x") for part in prop.split(".")), "modified", 0, 1)
    return ResourceDrift("/probe", resource_type, "modified", (change,)), change


def _covers(rule: Rule, drift: ResourceDrift, change: Change) -> bool:
    if rule.rule_id in CATCH_ALL or not rule.path.search(change.dotted):
        return False
    return change.kind in rule.kinds or rule.otherwise is not None


def coverage(
    catalogue: dict[str, dict[str, str]] | None = None, rules: RuleSet | None = None
) -> list[TypeCoverage]:
    """Coverage of every catalogued type by the shipped pack, in type order."""
    catalogue = catalogue if catalogue is not None else load_catalogue()
    rules = rules or build_rule_set({})
    result = []
    for resource_type in sorted(catalogue):
        audited = tuple(catalogue[resource_type])
        covered = []
        for prop in audited:
            drift, change = _probe(resource_type, prop)
            if any(_covers(r, drift, change) for r in rules.rules_for(resource_type)):
                covered.append(prop)
        result.append(TypeCoverage(resource_type, audited, tuple(covered)))
    return result


def summary(rows: list[TypeCoverage], rule_count: int) -> dict[str, Any]:
    """Totals over the rows: types, audited, covered, percent, rules."""
    audited = sum(len(r.audited) for r in rows)
    covered = sum(len(r.covered) for r in rows)
    return {
        "types": len(rows),
        "audited": audited,
        "covered": covered,
        "percent": round(100 * covered / audited, 1) if audited else 100.0,
        "rules": rule_count,
    }
