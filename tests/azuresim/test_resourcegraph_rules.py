"""The simulator's Resource Graph is strict where Azure is: documented union / join /
mv-expand rules, Azure's 400 body, the tables' real contents, subscription states."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError

from tests.azuresim.helpers import all_rows, arm_get, graph_client, run_query


def refusal(client, query: str, subs: list[str]) -> dict:
    with pytest.raises(HttpResponseError) as info:
        run_query(client, query, subs)
    assert info.value.status_code == 400
    body = info.value.response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "BadRequest"
    assert body["error"]["message"].startswith(
        "Please provide below info when asking for support: timestamp = "
    )
    assert "correlationId = " in body["error"]["message"]
    assert all({"code", "message"} <= set(d) for d in body["error"]["details"])
    return body["error"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        # The product's old collection query: a comma list of tables after union.
        (
            "resources | union resourcecontainers, authorizationresources, policyresources",
            "UnsupportedUnionUsage",
        ),
        ("union resources, resourcecontainers", "UnsupportedUnionUsage"),
        ("resources | union authorizationresources", "UnsupportedUnionUsage"),
        ("policyresources | union (resources | where type =~ 'x')", "UnsupportedUnionUsage"),
        ("resources | union isfuzzy=true resourcecontainers", "UnsupportedUnionUsage"),
        ("resources | union resources | union resources | union resources", None),
        ("resources | join kind=leftsemi (resourcecontainers) on subscriptionId", None),
        (
            "resources | join hint.strategy=broadcast (resourcecontainers) on subscriptionId",
            "UnsupportedOperatorUsage",
        ),
        (
            "resources | join (authorizationresources) on subscriptionId "
            "| join (policyresources) on subscriptionId",
            "DisallowedMaxNumberOfRemoteTables",
        ),
        ("resources | mv-expand s = properties.securityRules limit 401", None),
    ],
)
def test_violations_are_answered_as_resource_graph_does(sim, make_tenant, query, code):
    tenant = make_tenant(resources=20)
    error = refusal(graph_client(sim, tenant), query, tenant["subscription_ids"])
    codes = [d["code"] for d in error["details"]]
    assert codes[0] == "InvalidQuery"
    if code:
        assert codes[1] == code
    elif "join kind" in query:
        assert codes[1] == "UnsupportedJoinFlavor"
        assert error["details"][1]["message"] == (
            'The join kind "LeftSemi" is not supported or not allowed.'
        )
    elif "mv-expand" in query:
        assert "400" in error["details"][1]["message"]
    else:
        assert codes[1] == "DisallowedMaxNumberOfRemoteTables"


def test_an_unknown_table_has_the_single_detail_azure_sends(sim, make_tenant):
    tenant = make_tenant(resources=20)
    error = refusal(graph_client(sim, tenant), "appserviceresourcez", tenant["subscription_ids"])
    assert error["details"] == [
        {
            "code": "DisallowedLogicalTableName",
            "message": "Table appserviceresourcez is invalid, unsupported or disallowed.",
        }
    ]


def test_a_parser_failure_carries_position_and_token(sim, make_tenant):
    tenant = make_tenant(resources=20)
    error = refusal(
        graph_client(sim, tenant), "resources | where type ==", tenant["subscription_ids"]
    )
    detail = error["details"][1]
    assert detail["code"] == "ParserFailure"
    assert {"line", "characterPositionInLine", "token"} <= set(detail)


def test_joins_within_the_limits_are_refused_as_simulator_only(sim, make_tenant):
    tenant = make_tenant(resources=20)
    error = refusal(
        graph_client(sim, tenant),
        "resources | join kind=leftouter (resourcecontainers | where type =~ "
        "'microsoft.resources/subscriptions') on subscriptionId",
        tenant["subscription_ids"],
    )
    assert error["details"][1]["code"] == "NotSupportedBySimulator"


def test_documented_union_forms_are_answered(sim, make_tenant):
    tenant = make_tenant(resources=100)
    client = graph_client(sim, tenant)
    subs = tenant["subscription_ids"]
    rows, _pages, total = all_rows(
        client,
        "Resources | where type =~ 'microsoft.keyvault/vaults' "
        "| union kind=outer withsource=TableName (ResourceContainers "
        "| where type =~ 'microsoft.resources/subscriptions') | order by id asc",
        subs,
        top=1000,
    )
    assert total == len(rows) > len(subs)
    by_source = {}
    for row in rows:
        by_source.setdefault(row["TableName"], set()).add(row["type"])
    assert by_source == {
        "Resources": {"microsoft.keyvault/vaults"},
        "ResourceContainers": {"microsoft.resources/subscriptions"},
    }, "a where before the union filters only its own leg"


def test_tables_hold_what_azures_hold(sim, make_tenant):
    tenant = make_tenant(subscriptions=2, resources=40)
    client = graph_client(sim, tenant)
    subs = tenant["subscription_ids"]
    auth = all_rows(client, "authorizationresources | order by id asc", subs, 1000)[0]
    auth_types = {row["type"] for row in auth}
    assert auth_types == {
        "microsoft.authorization/roleassignments",
        "microsoft.authorization/roledefinitions",
        "microsoft.authorization/classicadministrators",
    }
    roles = [r for r in auth if r["type"] == "microsoft.authorization/roledefinitions"]
    kinds = {r["properties"]["type"] for r in roles}
    assert kinds == {"BuiltInRole", "CustomRole"}
    builtin = [r for r in roles if r["properties"]["type"] == "BuiltInRole"]
    assert all(r["subscriptionId"] == "" and r["id"].startswith("/providers/") for r in builtin)
    assert {"Owner", "Contributor", "Reader"} <= {r["properties"]["roleName"] for r in builtin}
    policy = all_rows(client, "policyresources | order by id asc", subs, 1000)[0]
    assert {row["type"] for row in policy} == {
        "microsoft.authorization/policyassignments",
        "microsoft.authorization/policydefinitions",
        "microsoft.authorization/policysetdefinitions",
        "microsoft.authorization/policyexemptions",
        "microsoft.policyinsights/policystates",
    }
    # Built-in definitions answer a query for one subscription too (tenant-level rows).
    one = all_rows(
        client,
        "policyresources | where type =~ 'microsoft.authorization/policydefinitions' "
        "| where properties.policyType =~ 'BuiltIn'",
        subs[:1],
        1000,
    )[0]
    assert one and all(r["subscriptionId"] == "" for r in one)


def test_policy_states_change_on_every_evaluation(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=1, resources=20)
    client = graph_client(sim, tenant)
    query = "policyresources | where type =~ 'microsoft.policyinsights/policystates'"
    sim_client.set_policy_evaluation(1)
    try:
        first = all_rows(client, query, tenant["subscription_ids"], 1000)[0]
        time.sleep(1.1)
        second = all_rows(client, query, tenant["subscription_ids"], 1000)[0]
    finally:
        sim_client.set_policy_evaluation(60)
    assert [r["id"] for r in first] == [r["id"] for r in second]
    assert [r["properties"]["timestamp"] for r in first] != [
        r["properties"]["timestamp"] for r in second
    ]
    assert {r["properties"]["complianceState"] for r in first + second} == {
        "Compliant",
        "NonCompliant",
    }


def test_subscription_states_in_arm_and_resource_graph(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=3, resources=60, subscription_states={"2": "Warned"})
    enabled, disabled, warned = tenant["subscription_ids"]
    sim_client.set_subscription_state(tenant["tenant_id"], disabled, "Disabled")
    listed, path = [], "/subscriptions?api-version=2022-12-01"
    while path:
        page = arm_get(sim, tenant, path).json()
        listed.extend(page["value"])
        path = page.get("nextLink", "").replace(sim.base_url, "")
    assert {s["subscriptionId"]: s["state"] for s in listed} == {
        enabled: "Enabled",
        disabled: "Disabled",
        warned: "Warned",
    }
    client = graph_client(sim, tenant)
    rows = all_rows(client, "resourcecontainers", tenant["subscription_ids"], 1000)[0]
    states = {
        r["subscriptionId"]: r["properties"]["state"]
        for r in rows
        if r["type"] == "microsoft.resources/subscriptions"
    }
    assert states[disabled] == "Disabled", "a Disabled subscription can still be read"

    sim_client.set_subscription_state(tenant["tenant_id"], disabled, "Deleted")
    rows = all_rows(client, "resources", tenant["subscription_ids"], 1000)[0]
    assert rows and disabled not in {r["subscriptionId"] for r in rows}
    with pytest.raises(HttpResponseError) as info:
        run_query(client, "resources", [disabled])
    assert info.value.status_code == 403
    with pytest.raises(Exception, match="state must be one of"):
        sim_client.set_subscription_state(tenant["tenant_id"], enabled, "Frozen")


def test_bad_subscription_states_in_a_tenant_spec_are_refused():
    from azuresim.tenants import TenantSpec

    spec = TenantSpec.from_dict({"subscriptions": 2, "subscription_states": {"1": "pastdue"}})
    assert spec.subscription_states == ((1, "PastDue"),)
    with pytest.raises(ValueError, match="state must be one of"):
        TenantSpec.from_dict({"subscription_states": {"0": "Expired"}})
    with pytest.raises(ValueError, match="index -> state"):
        TenantSpec.from_dict({"subscription_states": ["Disabled"]})
