"""Severity of drift: ordered rules from the tenant's ``drift_thresholds`` plus shipped ones.

Pure module (no Django). A rule matches a change by resource-type glob, a regular
expression over the change's dotted path, optional change kinds, an optional condition
on the new value, and optional ``where`` conditions checked on the object at the
``scope`` prefix of the path (so "an NSG rule that now allows SSH from Internet" is
critical while the same path with ``Deny`` is not). First match wins; unmatched changes
get the fallback severity. Escalation raises a resource's severity when more than N of
its values changed in one pass. Invalid rules raise RuleSetError naming every problem,
and no rule set is built half-way.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from drift.compare import Change, ResourceDrift

SEVERITIES = ("low", "medium", "high", "critical")
IGNORE = "ignore"
RULE_SEVERITIES = (*SEVERITIES, IGNORE)
KINDS = ("modified", "added", "removed")
CONDITION_OPS = ("equals", "in", "matches")
DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.json")
_MISSING = object()


class RuleSetError(ValueError):
    """The drift rules are invalid; ``problems`` lists each one with its rule index."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def rank(severity: str) -> int:
    """Order of a severity (low=0 ... critical=3)."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Condition:
    """``equals`` a value, ``in`` a list (a list value matches if any element is in it), or
    ``matches`` a regular expression (case-insensitive)."""

    op: str
    operand: Any
    pattern: re.Pattern[str] | None = None

    def test(self, value: Any) -> bool:
        if self.op == "equals":
            return value == self.operand
        if self.op == "in":
            values = value if isinstance(value, list) else [value]
            return any(v in self.operand for v in values)
        return isinstance(value, str) and bool(self.pattern and self.pattern.search(value))


@dataclass(frozen=True)
class Rule:
    """One severity rule (see the module docstring)."""

    name: str
    resource_type: str
    path: re.Pattern[str]
    severity: str
    resource: str = "*"
    kinds: frozenset[str] = frozenset(KINDS)
    condition: Condition | None = None
    scope: re.Pattern[str] | None = None
    where: tuple[tuple[tuple[str, ...], Condition], ...] = ()

    def applies(self, drift: ResourceDrift, change: Change) -> bool:
        """Does this rule classify ``change`` of ``drift``'s resource?"""
        if not fnmatch.fnmatchcase(drift.resource_type, self.resource_type):
            return False
        if self.resource != "*" and not fnmatch.fnmatchcase(drift.resource_id, self.resource):
            return False
        if change.kind not in self.kinds and drift.kind not in self.kinds:
            return False
        dotted = change.dotted
        if not self.path.search(dotted):
            return False
        if self.condition is not None and not self.condition.test(change.new):
            return False
        return not self.where or self._where_holds(drift, change)

    def _where_holds(self, drift: ResourceDrift, change: Change) -> bool:
        config = drift.current if drift.current is not None else drift.baseline
        node: Any = config
        if self.scope is not None:
            node = _node_at_scope(config, change, self.scope)
            if node is _MISSING:
                return False
        for alternatives, condition in self.where:
            values = [_get(node, alt) for alt in alternatives]
            if not any(v is not _MISSING and condition.test(v) for v in values):
                return False
        return True


def _get(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _node_at_scope(config: Any, change: Change, scope: re.Pattern[str]) -> Any:
    """The object at the shortest prefix of the change path that the scope regex matches."""
    for length in range(len(change.path) + 1):
        prefix = Change(change.path[:length], change.kind, None, None)
        if scope.fullmatch(prefix.dotted):
            node = config
            for part in change.path[:length]:
                try:
                    node = node[part]
                except (KeyError, IndexError, TypeError):
                    return _MISSING
            return node
    return _MISSING


@dataclass(frozen=True)
class Escalation:
    """More than ``changes`` changed values on one resource raise it to ``severity``."""

    changes: int
    severity: str


@dataclass(frozen=True)
class RuleSet:
    """Compiled rules in evaluation order, the fallback severity and the escalation."""

    rules: tuple[Rule, ...]
    fallback_severity: str = "medium"
    escalation: Escalation | None = None
    _names: tuple[str, ...] = field(default=(), compare=False)

    def classify(self, drift: ResourceDrift, change: Change) -> tuple[str, str]:
        """(severity, matched rule name) of one change."""
        for rule in self.rules:
            if rule.applies(drift, change):
                return rule.severity, rule.name
        return self.fallback_severity, "default"

    def resource_severity(self, drift: ResourceDrift) -> tuple[str, list[tuple[Change, str, str]]]:
        """Each change with (severity, rule), and the resource's severity after escalation.

        A resource with more counted (not ignored) changes than the escalation allows has
        each of its changes raised to at least the escalation severity, so the findings
        carry the raised severity too.
        """
        classified = [(change, *self.classify(drift, change)) for change in drift.changes]
        counted = [severity for _, severity, _ in classified if severity != IGNORE]
        overall = max(counted, key=rank, default="low")
        if self.escalation and len(counted) > self.escalation.changes:
            floor = self.escalation.severity
            overall = max(overall, floor, key=rank)
            note = f" (escalated: {len(counted)} changes)"
            classified = [
                (change, severity, rule)
                if severity == IGNORE or rank(severity) >= rank(floor)
                else (change, floor, rule + note)
                for change, severity, rule in classified
            ]
        return overall, classified


def _compile_condition(spec: Any, where: str, problems: list[str]) -> Condition | None:
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in CONDITION_OPS:
        problems.append(f"{where}: a condition is one of {', '.join(CONDITION_OPS)}")
        return None
    op, operand = next(iter(spec.items()))
    if op == "in" and not isinstance(operand, list):
        problems.append(f"{where}: 'in' needs a list")
        return None
    if op == "matches":
        try:
            return Condition(op, operand, re.compile(str(operand), re.IGNORECASE))
        except re.error as exc:
            problems.append(f"{where}: bad regular expression {operand!r}: {exc}")
            return None
    return Condition(op, operand)


def _compile_regex(text: Any, where: str, problems: list[str]) -> re.Pattern[str] | None:
    try:
        return re.compile(str(text))
    except re.error as exc:
        problems.append(f"{where}: bad regular expression {text!r}: {exc}")
        return None


def _compile_rule(index: int, spec: Any, problems: list[str], origin: str) -> Rule | None:
    where = f"{origin} rule {index + 1}"
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be an object")
        return None
    before = len(problems)
    name = str(spec.get("name") or f"{origin} rule {index + 1}")
    severity = spec.get("severity")
    if severity not in RULE_SEVERITIES:
        problems.append(f"{where}: severity must be one of {', '.join(RULE_SEVERITIES)}")
    if not isinstance(spec.get("resource_type"), str) or not spec["resource_type"]:
        problems.append(f"{where}: resource_type (a glob) is required")
    resource = spec.get("resource", "*")
    if not isinstance(resource, str) or not resource:
        problems.append(f"{where}: resource must be a glob over the resource id")
        resource = "*"
    path = _compile_regex(spec.get("path", ""), f"{where} path", problems)
    kinds = spec.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not set(kinds) <= set(KINDS):
        problems.append(f"{where}: kinds must be a list of {', '.join(KINDS)}")
    condition = (
        _compile_condition(spec["condition"], f"{where} condition", problems)
        if "condition" in spec
        else None
    )
    scope = _compile_regex(spec["scope"], f"{where} scope", problems) if "scope" in spec else None
    where_specs = spec.get("where") or {}
    if not isinstance(where_specs, dict):
        problems.append(f"{where}: where must map field paths to conditions")
        where_specs = {}
    compiled_where = []
    for field_path, cond in where_specs.items():
        compiled = _compile_condition(cond, f"{where} where {field_path}", problems)
        if compiled is not None:
            compiled_where.append((tuple(str(field_path).split("|")), compiled))
    if len(problems) > before or path is None:
        return None
    return Rule(
        name=name,
        resource_type=spec["resource_type"].lower(),
        path=path,
        severity=severity,
        resource=resource.lower(),
        kinds=frozenset(kinds),
        condition=condition,
        scope=scope,
        where=tuple(compiled_where),
    )


@cache
def default_rule_specs() -> tuple[dict[str, Any], ...]:
    """The shipped rules as data."""
    return tuple(json.loads(DEFAULT_RULES_PATH.read_text("utf-8"))["rules"])


def build_rule_set(drift_thresholds: dict[str, Any] | None) -> RuleSet:
    """Compile a tenant's ``drift_thresholds`` (own rules first, then the shipped ones).

    Raises RuleSetError listing every invalid rule; nothing is applied half-way.
    """
    thresholds = drift_thresholds or {}
    problems: list[str] = []
    tenant_specs = thresholds.get("rules") or []
    if not isinstance(tenant_specs, list):
        raise RuleSetError(["rules must be a list"])
    rules = [_compile_rule(i, spec, problems, "tenant") for i, spec in enumerate(tenant_specs)]
    if thresholds.get("use_default_rules", True):
        rules += [
            _compile_rule(i, spec, problems, "shipped")
            for i, spec in enumerate(default_rule_specs())
        ]
    escalation = None
    if thresholds.get("escalation"):
        spec = thresholds["escalation"]
        if spec.get("severity") not in SEVERITIES or not isinstance(
            spec.get("changes_per_resource"), int
        ):
            problems.append("escalation needs changes_per_resource (an integer) and a severity")
        else:
            escalation = Escalation(spec["changes_per_resource"], spec["severity"])
    if problems:
        raise RuleSetError(problems)
    return RuleSet(rules=tuple(r for r in rules if r is not None), escalation=escalation)
