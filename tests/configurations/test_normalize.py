"""The normaliser: hashes move only with real configuration changes (property tests included)."""

from __future__ import annotations

import copy
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurations.normalize import (
    MAX_DEPTH,
    InvalidResourceError,
    NormalizationRules,
    canonical_json,
    config_hash,
    normalize,
    normalize_and_hash,
)
from tests.configurations import fixtures

RESOURCES = st.sampled_from(fixtures.ALL).map(fixtures.fresh)


def shuffled(obj, rng: random.Random):
    """Same JSON with dict keys and named/unordered list items in another order."""
    if isinstance(obj, dict):
        items = list(obj.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(obj, list):
        items = [shuffled(v, rng) for v in obj]
        rng.shuffle(items)
        return items
    return obj


def recased(obj):
    """Upper-case every ARM id and case-insensitive identifier, as Azure sometimes returns them."""
    if isinstance(obj, dict):
        return {
            k: (
                v.upper()
                if k in {"id", "type", "location", "resourceGroup", "subscriptionId"}
                and isinstance(v, str)
                else recased(v)
            )
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [recased(v) for v in obj]
    if isinstance(obj, str) and obj.lower().startswith("/subscriptions/"):
        return obj.upper()
    return obj


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(RESOURCES)
def test_normalising_is_idempotent(resource):
    once = normalize(resource)
    assert normalize(once) == once


@settings(max_examples=60)
@given(RESOURCES, st.integers(min_value=0, max_value=10_000))
def test_hash_ignores_key_order_and_list_order(resource, seed):
    assert config_hash(normalize(shuffled(resource, random.Random(seed)))) == config_hash(
        normalize(resource)
    )


@settings(max_examples=40)
@given(RESOURCES)
def test_hash_ignores_the_case_of_ids(resource):
    assert normalize_and_hash(recased(resource))[1] == normalize_and_hash(resource)[1]


@settings(max_examples=40)
@given(RESOURCES, st.text(min_size=1, max_size=20))
def test_volatile_fields_never_change_the_hash(resource, noise):
    noisy = copy.deepcopy(resource)
    noisy["etag"] = noise
    noisy["properties"]["provisioningState"] = noise
    noisy["systemData"] = {"createdAt": noise}
    assert config_hash(normalize(noisy)) == config_hash(normalize(resource))


def test_named_lists_become_objects_keyed_by_name():
    normalized = normalize(fixtures.nsg())
    rules = normalized["properties"]["securityRules"]
    assert set(rules) == {"allow-https", "allow-ssh-from-office", "deny-all"}
    assert rules["deny-all"]["properties"]["access"] == "Deny"
    assert (
        "etag" not in rules["deny-all"]
        and "provisioningState" not in rules["deny-all"]["properties"]
    )
    assert normalized["id"] == normalized["id"].lower()
    assert normalized["tenantId"] == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert normalized["tags"]["owner"] == "Zoë Müller", "tag values keep their case and accents"
    assert normalized["properties"]["subnets"][0]["id"].startswith("/subscriptions/")


def test_unordered_scalar_lists_are_sorted():
    normalized = normalize(fixtures.vnet())
    assert normalized["properties"]["addressSpace"]["addressPrefixes"] == [
        "10.0.0.0/16",
        "10.1.0.0/16",
    ]
    reordered = fixtures.vnet()
    reordered["properties"]["dhcpOptions"]["dnsServers"].reverse()
    assert config_hash(normalize(reordered)) == config_hash(normalized)


@pytest.mark.parametrize(
    ("factory", "mutate"),
    [
        (
            fixtures.nsg,
            lambda r: r["properties"]["securityRules"][1]["properties"].update(access="Deny"),
        ),
        (fixtures.nsg, lambda r: r["tags"].update(env="test")),
        (fixtures.storage_account, lambda r: r["properties"].update(allowBlobPublicAccess=True)),
        (fixtures.storage_account, lambda r: r["properties"].update(minimumTlsVersion="TLS1_0")),
        (
            fixtures.vnet,
            lambda r: r["properties"]["subnets"].append({"name": "new", "properties": {}}),
        ),
        (fixtures.role_assignment, lambda r: r["properties"].update(principalId="another")),
    ],
)
def test_a_real_change_changes_the_hash(factory, mutate):
    before = config_hash(normalize(factory()))
    changed = factory()
    mutate(changed)
    assert config_hash(normalize(changed)) != before


def test_per_type_rules_apply_only_to_their_type():
    vm = normalize(fixtures.virtual_machine())
    assert "vmId" not in vm["properties"]
    assert "instanceView" not in vm["properties"].get("extended", {})
    assert vm["properties"]["hardwareProfile"] == {"vmSize": "Standard_D2s_v5"}
    other = fixtures.storage_account()
    other["properties"]["vmId"] = "kept"
    assert normalize(other)["properties"]["vmId"] == "kept"
    assert "statusOfPrimary" not in normalize(fixtures.storage_account())["properties"]


def test_rules_come_from_data():
    rules = NormalizationRules.from_dict(
        {
            "volatile_keys": ["name"],
            "case_insensitive_keys": ["id", "type"],
            "types": {"x/*": {"volatile_paths": ["properties.secret"]}},
        }
    )
    normalized = normalize(
        {"id": "/A", "type": "X/Y", "name": "n", "properties": {"secret": 1, "k": 2}}, rules
    )
    assert normalized == {"id": "/a", "type": "x/y", "properties": {"k": 2}}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "expected a JSON object"),
        ("text", "expected a JSON object"),
        ({"type": "x/y"}, "no 'id'"),
        ({"id": "/a"}, "no 'type'"),
        ({"id": "/a", "type": "x", "properties": {1: "non-string key"}}, "non-string key"),
    ],
)
def test_malformed_input_is_a_clear_error(bad, message):
    with pytest.raises(InvalidResourceError, match=message):
        normalize(bad)


def test_deep_nesting_up_to_the_limit_and_a_clear_error_beyond():
    def nested(depth):
        node = {"leaf": "ü"}
        for _ in range(depth):
            node = {"child": node}
        return {"id": "/a", "type": "x/y", "properties": node}

    assert normalize(nested(MAX_DEPTH - 5))["properties"]["child"]
    with pytest.raises(InvalidResourceError, match="nested deeper"):
        normalize(nested(MAX_DEPTH + 5))


def test_a_ten_megabyte_resource_normalises():
    resource = fixtures.storage_account()
    resource["properties"]["blob"] = [f"entry-{i:07d}-" + "x" * 90 for i in range(100_000)]
    assert len(json.dumps(resource)) > 10_000_000
    normalized, digest = normalize_and_hash(resource)
    assert len(digest) == 64
    assert normalized["properties"]["blob"][0].startswith("entry-0000000")


def test_canonical_json_is_compact_sorted_utf8():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
