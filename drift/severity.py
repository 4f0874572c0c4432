"""Severity of drift: ordered rules from the tenant's ``drift_thresholds``, the MSP's
defaults and the shipped rule pack.

Pure module (no Django). A rule matches a change by resource-type glob, a regular
expression over the change's dotted path, optional change kinds, an optional condition
on the new value, and optional ``where`` conditions checked on the object at the
``scope`` prefix of the path, in the current configuration (in the baseline for a
removal), so "an NSG rule that now allows SSH from Internet" is critical while the same
path with ``Deny`` is not, and a removed deny rule is judged as the deny rule it was.
A rule with ``otherwise`` rates the secure direction of its property: when type and path
match but the kind or condition does not (the value moved to a safe one), the change
gets the ``otherwise`` severity.
First match wins; unmatched changes get the fallback severity. Escalation raises a
resource's severity when more than N of its values changed in one pass. Invalid rules
raise RuleSetError naming every problem, and no rule set is built half-way.

Expressions are RE2 (see :mod:`drift.patterns`): matching is linear in the input, and
expressions that could backtrack catastrophically are refused when the rules are built.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from drift.choices import SEVERITIES, most_severe, severity_rank
from drift.compare import Change, ResourceDrift
from drift.patterns import PatternError, compile_pattern

IGNORE = "ignore"
RULE_SEVERITIES = (*SEVERITIES, IGNORE)
KINDS = ("modified", "added", "removed")
CONDITION_OPS = ("equals", "in", "matches", "below")
DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.json")
SECURE_SUFFIX = " (secure direction)"
PATH_CACHE_SIZE = 50_000
_MISSING = object()

__all__ = [
    "IGNORE",
    "SEVERITIES",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "build_rule_set",
    "default_rule_specs",
    "rank",
    "rule_problems",
    "severity_rank",
    "usable_rule_set",
]


class RuleSetError(ValueError):
    """The drift rules are invalid; ``problems`` lists each one with its rule index."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def rank(severity: str) -> int:
    """Order of a severity (low=0 ... critical=3); kept for callers of the old name."""
    return severity_rank(severity)


def _fold(value: Any) -> Any:
    """Azure compares enum values case-insensitively; so do rule conditions."""
    return value.casefold() if isinstance(value, str) else value


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b  # bool is an int in Python: True must not equal 1
    return _fold(a) == _fold(b)


@dataclass(frozen=True)
class Condition:
    """``equals`` a value, ``in`` a list (a list value matches if any element is in it),
    ``matches`` a regular expression (case-insensitive), or is a number ``below`` a bound.
    String comparisons ignore case."""

    op: str
    operand: Any
    pattern: Any = None

    def test(self, value: Any) -> bool:
        if self.op == "equals":
            return _same(value, self.operand)
        if self.op == "in":
            values = value if isinstance(value, list) else [value]
            return any(_same(v, o) for v in values for o in self.operand)
        if self.op == "below":
            number = isinstance(value, int | float) and not isinstance(value, bool)
            return number and value < self.operand
        return isinstance(value, str) and bool(self.pattern and self.pattern.search(value))


@dataclass(frozen=True)
class Rule:
    """One severity rule (see the module docstring)."""

    name: str
    resource_type: str
    path: Any
    severity: str
    resource: str = "*"
    kinds: frozenset[str] = frozenset(KINDS)
    condition: Condition | None = None
    scope: Any = None
    where: tuple[tuple[tuple[str, ...], Condition], ...] = ()
    otherwise: str | None = None
    rationale: str = ""
    reference: str = ""
    rule_id: str = ""
    type_pattern: Any = field(default=None, compare=False, repr=False)

    def applies_to_type(self, resource_type: str) -> bool:
        """Can this rule classify resources of ``resource_type`` at all? (The type glob
        is compiled with the rule, so a worker's first pass does not compile one per
        rule and type.)"""
        if self.type_pattern is not None:
            return self.type_pattern.match(resource_type) is not None
        return fnmatch.fnmatchcase(resource_type, self.resource_type)

    def evaluate(self, drift: ResourceDrift, change: Change) -> tuple[str, str] | None:
        """(severity, rule name) if this rule classifies ``change``; None to try the next."""
        if not self.path.search(change.dotted):
            return None
        return self.judge(drift, change)

    def judge(self, drift: ResourceDrift, change: Change) -> tuple[str, str] | None:
        """:meth:`evaluate` for a change whose path this rule is known to match."""
        if self.resource != "*" and not fnmatch.fnmatchcase(
            drift.resource_id.lower(), self.resource
        ):
            return None
        holds = (
            change.kind in self.kinds
            and (self.condition is None or self.condition.test(change.new))
            and (not self.where or self._where_holds(drift, change))
        )
        if holds:
            return self.severity, self.name
        if self.otherwise is not None:
            return self.otherwise, self.name + SECURE_SUFFIX
        return None

    def applies(self, drift: ResourceDrift, change: Change) -> bool:
        """Does this rule rate ``change`` at its own severity?"""
        return self.applies_to_type(drift.resource_type) and self.evaluate(drift, change) == (
            self.severity,
            self.name,
        )

    def _where_holds(self, drift: ResourceDrift, change: Change) -> bool:
        # What was removed is judged by what it was (a removed deny rule), the rest by
        # what it is now.
        removed = change.kind == "removed" and drift.baseline is not None
        config = drift.baseline if removed or drift.current is None else drift.current
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


def _node_at_scope(config: Any, change: Change, scope: Any) -> Any:
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
    _by_type: dict[str, tuple[Rule, ...]] = field(default_factory=dict, compare=False)
    _by_path: dict[tuple[str, str], tuple[Rule, ...]] = field(default_factory=dict, compare=False)

    def rules_for(self, resource_type: str) -> tuple[Rule, ...]:
        """The rules that can apply to ``resource_type``, in order (computed once per type)."""
        found = self._by_type.get(resource_type)
        if found is None:
            found = tuple(r for r in self.rules if r.applies_to_type(resource_type))
            self._by_type[resource_type] = found
        return found

    def rules_for_path(self, resource_type: str, dotted: str) -> tuple[Rule, ...]:
        """The rules whose type and path match, in order. Paths repeat across resources
        and passes, so each (type, path) is matched against the expressions once."""
        key = (resource_type, dotted)
        found = self._by_path.get(key)
        if found is None:
            found = tuple(r for r in self.rules_for(resource_type) if r.path.search(dotted))
            if len(self._by_path) >= PATH_CACHE_SIZE:
                self._by_path.clear()
            self._by_path[key] = found
        return found

    def classify(self, drift: ResourceDrift, change: Change) -> tuple[str, str]:
        """(severity, matched rule name) of one change."""
        for rule in self.rules_for_path(drift.resource_type, change.dotted):
            result = rule.judge(drift, change)
            if result is not None:
                return result
        return self.fallback_severity, "default"

    def resource_severity(self, drift: ResourceDrift) -> tuple[str, list[tuple[Change, str, str]]]:
        """Each change with (severity, rule), and the resource's severity after escalation.

        A resource with more counted (not ignored) changes than the escalation allows has
        each of its changes raised to at least the escalation severity, so the findings
        carry the raised severity too.
        """
        classified = [(change, *self.classify(drift, change)) for change in drift.changes]
        counted = [severity for _, severity, _ in classified if severity != IGNORE]
        overall = most_severe(counted)
        if self.escalation and len(counted) > self.escalation.changes:
            floor = self.escalation.severity
            overall = most_severe((overall, floor))
            note = f" (escalated: {len(counted)} changes)"
            classified = [
                (change, severity, rule)
                if severity == IGNORE or severity_rank(severity) >= severity_rank(floor)
                else (change, floor, rule + note)
                for change, severity, rule in classified
            ]
        return overall, classified


def _compile_regex(text: Any, where: str, problems: list[str], *, ignore_case: bool = False) -> Any:
    try:
        return compile_pattern(text, ignore_case=ignore_case)
    except PatternError as exc:
        problems.append(f"{where}: the expression {text} {exc}")
        return None


def _compile_condition(spec: Any, where: str, problems: list[str]) -> Condition | None:
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in CONDITION_OPS:
        problems.append(f"{where}: a condition is one of {', '.join(CONDITION_OPS)}")
        return None
    op, operand = next(iter(spec.items()))
    if op == "in" and not isinstance(operand, list):
        problems.append(f"{where}: 'in' needs a list")
        return None
    if op == "below" and (not isinstance(operand, int | float) or isinstance(operand, bool)):
        problems.append(f"{where}: 'below' needs a number")
        return None
    if op == "matches":
        pattern = _compile_regex(operand, where, problems, ignore_case=True)
        return None if pattern is None else Condition(op, operand, pattern)
    return Condition(op, operand)


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
    otherwise = spec.get("otherwise")
    if otherwise is not None and otherwise not in RULE_SEVERITIES:
        problems.append(f"{where}: otherwise must be one of {', '.join(RULE_SEVERITIES)}")
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
    type_glob = spec["resource_type"].lower()
    return Rule(
        name=name,
        resource_type=type_glob,
        type_pattern=re.compile(fnmatch.translate(type_glob)),
        path=path,
        severity=severity,
        resource=resource.lower(),
        kinds=frozenset(kinds),
        condition=condition,
        scope=scope,
        where=tuple(compiled_where),
        otherwise=otherwise,
        rationale=str(spec.get("rationale") or ""),
        reference=str(spec.get("reference") or ""),
        rule_id=str(spec.get("id") or ""),
    )


@cache
def rule_pack() -> dict[str, Any]:
    """The shipped rule pack (rules, volatile-property notes, fallback) as data."""
    return json.loads(DEFAULT_RULES_PATH.read_text("utf-8"))


def default_rule_specs() -> tuple[dict[str, Any], ...]:
    """The shipped rules as data, in evaluation order."""
    return tuple(rule_pack()["rules"])


@cache
def _compiled_pack() -> tuple[Rule, ...]:
    problems: list[str] = []
    rules = [_compile_rule(i, s, problems, "shipped") for i, s in enumerate(default_rule_specs())]
    if problems:
        raise RuleSetError(problems)
    return tuple(r for r in rules if r is not None)


def _compile_list(specs: Any, origin: str, problems: list[str]) -> list[Rule]:
    if not isinstance(specs, list):
        problems.append(f"{origin} rules must be a list")
        return []
    compiled = [_compile_rule(i, spec, problems, origin) for i, spec in enumerate(specs)]
    return [r for r in compiled if r is not None]


def rule_problems(drift_thresholds: Any) -> list[str]:
    """Every problem of a ``drift_thresholds`` document's rules and escalation (empty when
    it can be used); what the settings forms, API and service show next to the field."""
    try:
        build_rule_set(drift_thresholds if isinstance(drift_thresholds, dict) else {})
    except RuleSetError as exc:
        return exc.problems
    return []


def build_rule_set(
    drift_thresholds: dict[str, Any] | None, msp_rules: list[dict[str, Any]] | None = None
) -> RuleSet:
    """Compile a tenant's ``drift_thresholds``: its own rules first, then the MSP's default
    rules (``msp_rules``), then the shipped pack (unless ``use_default_rules`` is false).

    Raises RuleSetError listing every invalid rule; nothing is applied half-way.
    """
    rule_set, problems = usable_rule_set(drift_thresholds, msp_rules)
    if problems:
        raise RuleSetError(problems)
    return rule_set


def usable_rule_set(
    drift_thresholds: dict[str, Any] | None, msp_rules: list[dict[str, Any]] | None = None
) -> tuple[RuleSet, list[str]]:
    """The rule set without the invalid rules, and the problems of those left out.

    Detection uses this form: a stored document that became invalid (saved before
    save-time validation, or written around it) must not stop every later pass, and the
    valid rules, ignore rules above all, keep applying.
    """
    thresholds = drift_thresholds if isinstance(drift_thresholds, dict) else {}
    problems: list[str] = []
    rules = _compile_list(thresholds.get("rules") or [], "tenant", problems)
    if msp_rules:
        rules += _compile_list(msp_rules, "MSP default", problems)
    escalation = None
    if thresholds.get("escalation"):
        spec = thresholds["escalation"]
        if (
            not isinstance(spec, dict)
            or spec.get("severity") not in SEVERITIES
            or not isinstance(spec.get("changes_per_resource"), int)
        ):
            problems.append("escalation needs changes_per_resource (an integer) and a severity")
        else:
            escalation = Escalation(spec["changes_per_resource"], spec["severity"])
    if thresholds.get("use_default_rules", True):
        rules += _compiled_pack()
    fallback = rule_pack().get("fallback_severity", "medium")
    return RuleSet(rules=tuple(rules), fallback_severity=fallback, escalation=escalation), problems
