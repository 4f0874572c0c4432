"""The shipped rule pack: valid against its JSON Schema, and one test per rule in both
directions (the insecure change gets the rule's severity, the secure one at most low)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from drift.choices import severity_rank
from drift.compare import ResourceDrift, compare_resource, diff_configs
from drift.severity import DEFAULT_RULES_PATH, build_rule_set, default_rule_specs

PACK = default_rule_specs()
RULES = build_rule_set({})
SKIP = "$skip"


def _set(path: str, value: Any) -> dict[str, Any]:
    config: dict[str, Any] = {}
    node = config
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return config


def _drift(resource_type: str, before: Any, after: Any) -> ResourceDrift:
    rid = f"/subscriptions/s/resourcegroups/rg/providers/{resource_type}/example"
    if before is None or after is None:
        drift = compare_resource(
            rid,
            resource_type,
            None if before is None else (before, "a"),
            None if after is None else (after, "b"),
        )
        assert drift is not None
        return drift
    changes = tuple(diff_configs(before, after))
    assert changes, "the example must change something"
    return ResourceDrift(rid, resource_type, "modified", changes, before, after)


def _concrete_type(spec: dict[str, Any]) -> str:
    pattern = spec["resource_type"]
    return "microsoft.example/things" if "*" in pattern else pattern


def _pairs(spec: dict[str, Any]) -> tuple[tuple[Any, Any], tuple[Any, Any] | None]:
    test = spec["test"]
    if "set" in test:
        secure = test["secure"]
        before = _set(test["set"], "previous" if secure == SKIP else secure)
        insecure = (before, _set(test["set"], test["insecure"]))
        return insecure, None if secure == SKIP else (insecure[1], insecure[0])
    insecure = (test["before"], test["after"])
    if test.get("secure") == SKIP:
        return insecure, None
    if "secure_before" in test:
        return insecure, (test["secure_before"], test["secure_after"])
    return insecure, (test["after"], test["before"])


def test_the_pack_is_valid_for_its_json_schema_and_compiles():
    schema = json.loads(DEFAULT_RULES_PATH.with_name("default_rules.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    pack = json.loads(DEFAULT_RULES_PATH.read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(pack)]
    assert errors == []
    assert len({r["id"] for r in PACK}) == len({r["name"] for r in PACK}) == len(PACK)
    assert len(RULES.rules) == len(PACK) >= 100


@pytest.mark.parametrize("spec", PACK, ids=[r["id"] for r in PACK])
def test_rule_rates_the_insecure_direction_and_not_the_secure_one(spec):
    resource_type = _concrete_type(spec)
    insecure, secure = _pairs(spec)
    expected = spec["test"].get("expect", spec["severity"])
    overall, classified = RULES.resource_severity(_drift(resource_type, *copy.deepcopy(insecure)))
    assert overall == expected
    assert (expected, spec["name"]) in {(sev, rule) for _, sev, rule in classified}, classified
    if secure is not None:
        overall, classified = RULES.resource_severity(_drift(resource_type, *copy.deepcopy(secure)))
        assert severity_rank(overall) <= severity_rank("low"), classified
