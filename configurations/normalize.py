"""Normalise Azure resource JSON so its hash changes only when its configuration does.

Pure module (no Django). Rules live in ``normalize_rules.json`` (data, not code):

- string values of case-insensitive keys (id, type, location, ...) and every ARM id
  anywhere (``/subscriptions/...``, ``/providers/...``) are lower-cased;
- volatile keys (etag, provisioningState, ...) are dropped at every depth, plus
  per-resource-type paths (read-only properties Azure changes by itself, e.g. a SQL
  database's ``properties.status``; ``*`` stands for every named item), plus any key
  named like a moving timestamp (``lastModified...``, ``createdOn``, ``pausedDate``)
  whose value is an ISO timestamp, so types the rules do not know stay quiet too;
- ``null``, ``[]`` and ``{}`` values are dropped: Azure returns them interchangeably
  for "not set";
- a list of objects that all carry a distinct ``name`` (NSG ``securityRules``, VNet
  ``subnets``, NIC ``ipConfigurations``, ...) becomes an object keyed by name, so order
  does not matter and drift paths read ``properties.securityRules.allow-ssh.properties.access``;
- other lists are sorted (scalars by value, objects by canonical JSON, ignoring case
  first) unless their path is listed as ordered;
- canonical JSON is key-sorted, compact UTF-8; the hash is its sha256.

The normalised form is what is stored, diffed and shown. Nesting deeper than
``MAX_DEPTH`` is refused with InvalidResourceError rather than a RecursionError.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

RULES_PATH = Path(__file__).with_name("normalize_rules.json")
MAX_DEPTH = 200
_ARM_ID_PREFIXES = ("/subscriptions/", "/providers/")
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_EMPTY: tuple[Any, ...] = (None, [], {})


class InvalidResourceError(ValueError):
    """The input is not an Azure resource we can normalise; the message says why."""


@dataclass(frozen=True)
class TypeRules:
    """Rules for resource types matching ``pattern`` (a glob over the lower-cased type)."""

    pattern: str
    volatile_paths: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class NormalizationRules:
    """All normalisation rules, loaded once from the JSON rules file."""

    volatile_keys: frozenset[str]
    case_insensitive_keys: frozenset[str]
    ordered_paths: frozenset[str] = frozenset()
    types: tuple[TypeRules, ...] = ()
    timestamp_key_prefixes: tuple[str, ...] = ()
    _by_type: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalizationRules:
        """Build rules from the rules file's structure."""
        types = tuple(
            TypeRules(
                pattern=pattern.lower(),
                volatile_paths=tuple(tuple(p.split(".")) for p in spec.get("volatile_paths", [])),
            )
            for pattern, spec in (data.get("types") or {}).items()
        )
        return cls(
            volatile_keys=frozenset(data.get("volatile_keys", [])),
            case_insensitive_keys=frozenset(data.get("case_insensitive_keys", [])),
            ordered_paths=frozenset(data.get("ordered_paths", [])),
            types=types,
            timestamp_key_prefixes=tuple(p.lower() for p in data.get("timestamp_key_prefixes", [])),
        )

    def is_moving_timestamp(self, key: str, value: Any) -> bool:
        """A key named like a moving timestamp (``lastModifiedTime``) holding one."""
        return (
            isinstance(value, str)
            and key.lower().startswith(self.timestamp_key_prefixes)
            and bool(_ISO_TIMESTAMP.match(value))
        )

    def volatile_paths_for(self, resource_type: str) -> tuple[tuple[str, ...], ...]:
        """Every per-type volatile path that applies to ``resource_type`` (lower-cased)."""
        cached = self._by_type.get(resource_type)
        if cached is None:
            cached = tuple(
                path
                for rule in self.types
                if fnmatch.fnmatchcase(resource_type, rule.pattern)
                for path in rule.volatile_paths
            )
            self._by_type[resource_type] = cached
        return cached


@cache
def load_rules(path: str | None = None) -> NormalizationRules:
    """The rules from ``path`` (default: the shipped file), parsed once per process."""
    return NormalizationRules.from_dict(json.loads(Path(path or RULES_PATH).read_text("utf-8")))


@cache
def rules_fingerprint(path: str | None = None) -> str:
    """sha256 of the rules file: stored hashes of raw rows are only valid under the same rules."""
    return hashlib.sha256(Path(path or RULES_PATH).read_bytes()).hexdigest()


def _is_arm_id(value: str) -> bool:
    return value[:15].lower().startswith(_ARM_ID_PREFIXES) if value.startswith("/") else False


class _Normalizer:
    def __init__(self, rules: NormalizationRules) -> None:
        self.rules = rules

    def value(self, value: Any, key: str | None, path: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise InvalidResourceError(f"resource nested deeper than {MAX_DEPTH} levels at {path}")
        if isinstance(value, dict):
            return self.mapping(value, path, depth)
        if isinstance(value, list):
            return self.sequence(value, path, depth)
        if isinstance(value, str) and (
            (key is not None and key in self.rules.case_insensitive_keys) or _is_arm_id(value)
        ):
            return value.lower()
        return value

    def mapping(self, obj: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        volatile = self.rules.volatile_keys
        out = {}
        for key, item in obj.items():
            if not isinstance(key, str):
                raise InvalidResourceError(f"non-string key {key!r} at {path or '<root>'}")
            if key in volatile or item in _EMPTY or self.rules.is_moving_timestamp(key, item):
                continue
            value = self.value(item, key, f"{path}.{key}" if path else key, depth + 1)
            if value not in _EMPTY:  # e.g. an object whose keys were all volatile
                out[key] = value
        return out

    def sequence(self, items: list[Any], path: str, depth: int) -> Any:
        values = [self.value(item, None, path, depth + 1) for item in items]
        names = [v.get("name") for v in values if isinstance(v, dict)]
        if (
            values
            and len(names) == len(values)
            and all(isinstance(n, str) and n for n in names)
            and len(set(names)) == len(names)
        ):
            return {v["name"]: v for v in values}
        if path in self.rules.ordered_paths:
            return values
        return sorted(values, key=_list_order)


def _list_order(value: Any) -> tuple[str, str]:
    """Case-insensitive first, so a change of case alone does not reorder a list."""
    text = canonical_json(value)
    return text.casefold(), text


def _drop_path(node: Any, path: tuple[str, ...]) -> None:
    """Remove ``path`` under ``node``; ``*`` walks every item (named lists are objects
    by now, other lists stay lists)."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        children = node.values() if isinstance(node, dict) else node
        if isinstance(children, list) or isinstance(node, dict):
            for child in list(children):
                if rest:
                    _drop_path(child, rest)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if not rest:
        node.pop(head)
        return
    _drop_path(node[head], rest)
    if node[head] in _EMPTY:
        node.pop(head)


def normalize(resource: dict[str, Any], rules: NormalizationRules | None = None) -> dict[str, Any]:
    """The normalised form of one Azure resource (a new dict; the input is not modified)."""
    if not isinstance(resource, dict):
        raise InvalidResourceError(f"expected a JSON object, got {type(resource).__name__}")
    for required in ("id", "type"):
        if not isinstance(resource.get(required), str) or not resource[required]:
            raise InvalidResourceError(f"resource has no '{required}': {str(resource)[:200]}")
    rules = rules or load_rules()
    try:
        normalized = _Normalizer(rules).mapping(resource, "", 0)
    except RecursionError:
        raise InvalidResourceError("resource nested too deeply to normalise") from None
    for path in rules.volatile_paths_for(normalized["type"]):
        _drop_path(normalized, path)
    return normalized


def canonical_json(obj: Any) -> str:
    """Key-sorted, compact JSON with non-ASCII kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(normalized: Any) -> str:
    """sha256 hex digest of the canonical JSON."""
    return hashlib.sha256(canonical_json(normalized).encode("utf-8")).hexdigest()


def normalize_and_hash(
    resource: dict[str, Any], rules: NormalizationRules | None = None
) -> tuple[dict[str, Any], str]:
    """Normalise ``resource`` and hash the result, as the collection pass does per row."""
    normalized = normalize(resource, rules)
    return normalized, config_hash(normalized)
