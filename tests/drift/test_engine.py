"""The drift engine (pure): JSON-path changes from deepdiff, and context-aware severities."""

from __future__ import annotations

import copy

import pytest

from configurations.normalize import normalize_and_hash
from drift.compare import Change, compare_resource, diff_configs
from drift.severity import RuleSetError, build_rule_set
from tests.configurations import fixtures

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def normalized(resource):
    return normalize_and_hash(resource)


def drift_of(before, after):
    b, a = normalized(before), normalized(after)
    return compare_resource(a[0]["id"], a[0]["type"], b, a)


def severities(drift, thresholds=None):
    overall, classified = build_rule_set(thresholds).resource_severity(drift)
    return overall, {change.dotted: (severity, rule) for change, severity, rule in classified}


def test_same_hash_is_no_drift():
    config = normalized(fixtures.nsg())
    assert compare_resource("/x", "t", config, config) is None


def test_changes_are_named_by_json_path_with_old_and_new_values():
    before = {
        "properties": {"securityRules": {"r": {"properties": {"access": "Deny"}}}},
        "tags": {"a": "1"},
    }
    after = {
        "properties": {"securityRules": {"r": {"properties": {"access": "Allow"}}}},
        "tags": {},
    }
    changes = {c.dotted: c for c in diff_configs(before, after)}
    assert changes["properties.securityRules.r.properties.access"] == Change(
        ("properties", "securityRules", "r", "properties", "access"), "modified", "Deny", "Allow"
    )
    assert changes["tags.a"].kind == "removed" and changes["tags.a"].old == "1"


def test_whole_resource_added_and_removed():
    config = normalized(fixtures.storage_account())
    added = compare_resource("/x", "microsoft.storage/storageaccounts", None, config)
    removed = compare_resource("/x", "microsoft.storage/storageaccounts", config, None)
    assert (added.kind, removed.kind) == ("added", "removed")
    assert added.changes[0].path == () and added.changes[0].new == config[0]


@pytest.mark.parametrize(
    ("port", "source", "expected"),
    [
        ("22", "Internet", "critical"),
        ("3389", "0.0.0.0/0", "critical"),
        ("*", "*", "critical"),
        ("8080", "Internet", "high"),
        ("22", "10.0.0.0/8", "medium"),
    ],
)
def test_nsg_rule_opened_to_the_internet_is_rated_by_port_and_source(port, source, expected):
    before = fixtures.nsg()
    after = copy.deepcopy(before)
    rule = after["properties"]["securityRules"][2]  # deny-all becomes an allow
    rule["properties"].update(access="Allow", destinationPortRange=port, sourceAddressPrefix=source)
    overall, by_path = severities(drift_of(before, after))
    assert overall == expected
    assert by_path["properties.securityRules.deny-all.properties.access"][0] == expected


def test_the_same_path_is_low_risk_when_the_new_value_is_safe():
    before = fixtures.nsg()
    after = copy.deepcopy(before)
    after["properties"]["securityRules"][0]["properties"]["access"] = "Deny"
    overall, by_path = severities(drift_of(before, after))
    assert overall == "low", "closing a rule is drift, but not an exposure"
    assert by_path["properties.securityRules.allow-https.properties.access"][1] == (
        "NSG rule now denies"
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("allowBlobPublicAccess", True, "high"),
        ("minimumTlsVersion", "TLS1_0", "high"),
        ("supportsHttpsTrafficOnly", False, "high"),
        ("publicNetworkAccess", "Enabled", "high"),
        ("minimumTlsVersion", "TLS1_3", "low"),
    ],
)
def test_storage_security_settings(field, value, expected):
    before = fixtures.storage_account()
    before["properties"]["publicNetworkAccess"] = "Disabled"
    after = copy.deepcopy(before)
    after["properties"][field] = value
    overall, by_path = severities(drift_of(before, after))
    assert by_path[f"properties.{field}"][0] == expected
    assert overall == expected


def test_owner_role_assignment_added_is_critical_and_reader_is_not():
    owner = fixtures.role_assignment()
    owner["properties"]["roleDefinitionId"] = (
        owner["properties"]["roleDefinitionId"].rsplit("/", 1)[0] + "/" + OWNER
    )
    reader = copy.deepcopy(owner)
    reader["properties"]["roleDefinitionId"] = (
        reader["properties"]["roleDefinitionId"].rsplit("/", 1)[0] + "/" + READER
    )
    for resource, expected in ((owner, "critical"), (reader, "medium")):
        config = normalized(resource)
        drift = compare_resource(config[0]["id"], config[0]["type"], None, config)
        assert severities(drift)[0] == expected


def test_tags_are_low_and_types_without_rules_get_the_fallback():
    before = fixtures.vnet()
    after = copy.deepcopy(before)
    after["tags"] = {"owner": "someone"}
    assert severities(drift_of(before, after))[0] == "low"
    after["properties"]["dhcpOptions"]["dnsServers"] = ["8.8.8.8"]
    overall, by_path = severities(drift_of(before, after))
    assert overall == "medium"
    assert by_path["properties.dhcpOptions.dnsServers[0]"] == ("medium", "default")


def test_tenant_rules_come_first_and_escalation_raises_busy_resources():
    before = fixtures.vnet()
    before["tags"] = {"keep": "1"}
    after = copy.deepcopy(before)
    after["tags"] = {"keep": "1", **{f"t{i}": "x" for i in range(4)}}
    thresholds = {
        "rules": [
            {
                "name": "vnet tags matter here",
                "resource_type": "microsoft.network/*",
                "path": "^tags",
                "severity": "high",
            }
        ],
        "escalation": {"changes_per_resource": 3, "severity": "critical"},
    }
    overall, by_path = severities(drift_of(before, after), thresholds)
    assert by_path["tags.t0"] == ("critical", "vnet tags matter here (escalated: 4 changes)")
    assert overall == "critical", "4 changes > 3 escalates"
    _, calm = severities(drift_of(before, after), {**thresholds, "escalation": None})
    assert calm["tags.t0"] == ("high", "vnet tags matter here")


def test_ignore_rules_drop_changes_and_do_not_count_towards_escalation():
    before = fixtures.vnet()
    before["tags"] = {"keep": "1"}
    after = copy.deepcopy(before)
    after["tags"] = {"keep": "1", **{f"t{i}": "x" for i in range(4)}}
    rid = before["id"].lower()
    thresholds = {
        "rules": [
            {
                "resource": rid.replace("[", "[[]"),
                "resource_type": "*",
                "path": "^tags\\.",
                "severity": "ignore",
            }
        ],
        "escalation": {"changes_per_resource": 1, "severity": "critical"},
    }
    overall, by_path = severities(drift_of(before, after), thresholds)
    assert len(by_path) == 4
    assert {severity for severity, _ in by_path.values()} == {"ignore"}
    assert overall == "low"
    other = {**thresholds, "rules": [{**thresholds["rules"][0], "resource": rid + "-other"}]}
    _, by_path = severities(drift_of(before, after), other)
    assert "ignore" not in {severity for severity, _ in by_path.values()}


def test_invalid_rules_are_all_reported_and_nothing_is_built():
    with pytest.raises(RuleSetError) as excinfo:
        build_rule_set(
            {
                "rules": [
                    {"resource_type": "*", "path": "([", "severity": "high"},
                    {"resource_type": "*", "path": "x", "severity": "urgent"},
                    {
                        "resource_type": "*",
                        "path": "x",
                        "severity": "low",
                        "condition": {"like": 1},
                    },
                ]
            }
        )
    problems = excinfo.value.problems
    assert any("rule 1 path" in p for p in problems)
    assert any("rule 2" in p and "severity" in p for p in problems)
    assert any("rule 3 condition" in p for p in problems)


def test_deep_and_non_ascii_configs_compare():
    deep = {"id": "/a", "type": "x/y", "properties": {}}
    node = deep["properties"]
    for _ in range(150):
        node["c"] = {}
        node = node["c"]
    node["name"] = "Zoë"
    changed = copy.deepcopy(deep)
    node = changed["properties"]
    for _ in range(150):
        node = node["c"]
    node["name"] = "東京"
    drift = drift_of(deep, changed)
    assert len(drift.changes) == 1 and drift.changes[0].new == "東京"


def test_changes_stay_at_leaf_paths_even_when_most_keys_change():
    changes = diff_configs({"tags": {}}, {"tags": {"a": "1", "b": "2"}})
    assert [c.dotted for c in changes] == ["tags.a", "tags.b"]


def test_every_shipped_rule_is_valid_for_the_settings_json_schema():
    from drift.severity import default_rule_specs
    from tenants.validation import settings_errors

    pack_only = ("id", "test")
    rules = [{k: v for k, v in rule.items() if k not in pack_only} for rule in default_rule_specs()]
    assert settings_errors("drift_thresholds", {"rules": rules}) == []
    assert len(build_rule_set({"rules": rules, "use_default_rules": False}).rules) == len(rules)


def test_lists_are_diffed_by_deepdiff_with_index_paths_and_equal_subtrees_skipped():
    before = {
        "properties": {"addressPrefixes": ["10.0.0.0/16", "10.1.0.0/16"], "same": {"deep": [1, 2]}}
    }
    after = {
        "properties": {"addressPrefixes": ["10.0.0.0/16", "10.9.0.0/16"], "same": {"deep": [1, 2]}}
    }
    assert [(c.dotted, c.kind, c.old, c.new) for c in diff_configs(before, after)] == [
        ("properties.addressPrefixes[1]", "modified", "10.1.0.0/16", "10.9.0.0/16")
    ]
    assert diff_configs({"a": 1}, {"a": "1"}) == [Change(("a",), "modified", 1, "1")]
