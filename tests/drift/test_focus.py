"""The finding page's pure helpers: ARM id parts, the changed path in context, principals."""

from __future__ import annotations

from drift.focus import arm_parts, focus, line_diff, principal_label, split_path

NSG = (
    "/subscriptions/79bfb9bb-adb1-4315-b6d9-c3dfc3e588ff/resourceGroups/rg-web/providers/"
    "Microsoft.Network/networkSecurityGroups/nsg-web"
)


def test_arm_parts_name_group_subscription_and_short_type():
    parts = arm_parts(NSG)
    assert parts == {
        "subscription_id": "79bfb9bb-adb1-4315-b6d9-c3dfc3e588ff",
        "resource_group": "rg-web",
        "name": "nsg-web",
        "short_type": "networkSecurityGroups",
    }
    child = arm_parts(NSG + "/securityRules/allow-ssh")
    assert child["short_type"] == "networkSecurityGroups/securityRules"
    assert child["name"] == "allow-ssh"


def test_split_path_keeps_keys_with_dots_whole():
    config = {"properties": {"routes": {"10.0.0.0/24": {"nextHop": "a"}}}, "tags": {"a": 1}}
    assert split_path("properties.routes.10.0.0.0/24.nextHop", config) == [
        "properties",
        "routes",
        "10.0.0.0/24",
        "nextHop",
    ]
    assert split_path("properties.list[2].x", {}) == ["properties", "list", 2, "x"]


def test_a_changed_scalar_is_shown_inside_its_named_object():
    rule = {"access": "Deny", "priority": 100}
    before = {"properties": {"securityRules": {"ssh": {"name": "ssh", "properties": rule}}}}
    after = {
        "properties": {
            "securityRules": {"ssh": {"name": "ssh", "properties": {**rule, "access": "Allow"}}}
        }
    }
    shown = focus("properties.securityRules.ssh.properties.access", before, after)
    assert shown["scope"] == "properties.securityRules.ssh"
    assert shown["before"]["properties"]["access"] == "Deny"
    assert shown["after"]["properties"]["access"] == "Allow"
    lines = line_diff(shown["before"], shown["after"])
    assert ("-", '    "access": "Deny",') in lines
    assert ("+", '    "access": "Allow",') in lines
    assert all(tag in (" ", "-", "+") for tag, _ in lines), "no difflib ? hint lines"


def test_an_added_object_is_shown_whole_and_absent_before():
    before = {"properties": {"securityRules": {}}}
    after = {"properties": {"securityRules": {"open": {"properties": {"access": "Allow"}}}}}
    shown = focus("properties.securityRules.open", before, after)
    assert shown["before"] is None
    assert shown["after"] == {"properties": {"access": "Allow"}}


def test_principals_show_names_with_the_raw_value_as_tooltip():
    assert principal_label("alice@contoso.com") == ("alice@contoso.com", "alice@contoso.com")
    cli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    assert principal_label(cli) == ("Azure CLI (app)", cli)
    ours = "11111111-2222-3333-4444-555555555555"
    assert principal_label(ours, {ours: "msp-reader"}) == ("msp-reader (app)", ours)
    shown, tooltip = principal_label("9f1c2e4a-0000-0000-0000-000000000001")
    assert shown == "app 9f1c2e4a…" and tooltip.startswith("9f1c2e4a-")
