"""No noise: what Azure changes by itself never becomes drift.

The simulator's list of read-only, self-changing properties comes from the REST specs
(azuresim/shapes/volatility.py); the normaliser's rules file must drop every one of
them. A property test over every simulated type perturbs a resource the ways Azure does
without a configuration change (volatile churn, reordered named lists, ids and enum-like
values in another case, ``[]`` / ``null`` / absent for "not set") and expects no drift.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azuresim.shapes import BLOCK
from azuresim.shapes.common import GenContext
from azuresim.shapes.volatility import READ_ONLY_VOLATILE, churn, volatile_paths
from configurations.normalize import normalize, normalize_and_hash
from drift.compare import compare_resource
from drift.severity import build_rule_set

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "3f8e1b2a-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
TYPES = sorted({type_name.lower(): offset for offset, (type_name, _) in BLOCK.items()}.items())
ENUM_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9_.|-]{0,63}$")
RULES = build_rule_set({})


def build(offset: int, seed: int) -> dict[str, Any]:
    """One simulated resource of the block position ``offset``."""
    _, builder = BLOCK[offset]
    ctx = GenContext(
        rng=random.Random(seed),
        tenant_id=TENANT,
        subscription_id=SUB,
        resource_group="rg-prod-westeurope-00-001",
        location="westeurope",
        index=offset,
        block_start=0,
        token="t0k3n",
    )
    return builder(ctx)


def _walk(node: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [node]
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        return [found for item in items for found in _walk(item, rest)]
    if isinstance(node, dict) and head in node:
        return _walk(node[head], rest)
    return []


def test_every_simulated_type_has_its_spec_volatility_listed():
    assert {t for t, _ in TYPES} == set(READ_ONLY_VOLATILE)


@pytest.mark.parametrize(("resource_type", "offset"), TYPES)
def test_the_normaliser_drops_every_volatile_property_the_specs_name(resource_type, offset):
    """The simulator's spec-derived list, checked against the normaliser's rules file."""
    raw = build(offset, 1)
    normalised = normalize(raw)
    for path in volatile_paths(resource_type):
        if path == "etag" and "etag" not in raw:
            continue
        assert _walk(normalised, path.split(".")) == [], f"{resource_type}: {path} kept"


@pytest.mark.parametrize(("resource_type", "offset"), TYPES)
def test_the_shapes_carry_the_volatile_properties_and_churn_moves_them(resource_type, offset):
    raw = build(offset, 2)
    paths = [p for p in volatile_paths(resource_type) if _walk(raw, p.split("."))]
    if not READ_ONLY_VOLATILE[resource_type][1]:
        return
    assert paths, f"the {resource_type} shape carries none of its volatile properties"
    moved = churn(raw, random.Random(3))
    assert any(_walk(moved, p.split(".")) != _walk(raw, p.split(".")) for p in paths)


def _perturb(node: Any, key: str | None, rng: random.Random, under_tags: bool) -> Any:
    """Azure's ways of saying the same thing differently."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if v in ([], None) and rng.random() < 0.7:
                choice = rng.choice(["absent", "null", "empty"])
                if choice == "absent":
                    continue
                out[k] = None if choice == "null" else []
                continue
            out[k] = _perturb(v, k, rng, under_tags or k == "tags")
        return out
    if isinstance(node, list):
        items = [_perturb(v, None, rng, under_tags) for v in node]
        named = all(isinstance(i, dict) and i.get("name") for i in items)
        if named or all(not isinstance(i, dict | list) for i in items):
            rng.shuffle(items)
        return items
    recased = isinstance(node, str) and not under_tags and key != "name"
    if recased and (node.startswith("/subscriptions/") or ENUM_LIKE.match(node)):
        return rng.choice([node, node.upper(), node.lower(), node.swapcase()])
    return node


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_index=st.integers(min_value=0, max_value=len(TYPES) - 1),
    seed=st.integers(min_value=0, max_value=2**32),
    noise=st.integers(min_value=0, max_value=2**32),
)
def test_azure_saying_the_same_thing_differently_is_never_drift(type_index, seed, noise):
    resource_type, offset = TYPES[type_index]
    rng = random.Random(noise)
    before = build(offset, seed)
    after = _perturb(churn(copy.deepcopy(before), rng), None, rng, False)
    drift = compare_resource(
        before["id"].lower(), resource_type, normalize_and_hash(before), normalize_and_hash(after)
    )
    findings = [] if drift is None else RULES.resource_severity(drift)[1]
    assert drift is None, [(c.dotted, c.old, c.new, sev) for c, sev, _ in findings]


@pytest.mark.parametrize(("resource_type", "offset"), TYPES)
def test_a_real_change_is_still_drift_after_the_noise(resource_type, offset):
    """The perturbations must not hide a configuration change (the test can fail)."""
    before = build(offset, 5)
    after = _perturb(churn(copy.deepcopy(before), random.Random(6)), None, random.Random(7), False)
    after.setdefault("tags", {})
    after["tags"] = {**(after["tags"] or {}), "drift-probe": "x"}
    drift = compare_resource(
        before["id"].lower(), resource_type, normalize_and_hash(before), normalize_and_hash(after)
    )
    assert drift is not None
    assert [(c.dotted, c.new) for c in drift.changes] in (
        [("tags.drift-probe", "x")],
        [("tags", {"drift-probe": "x"})],
    )
