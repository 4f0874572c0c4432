"""Resource Graph through the real ResourceGraphClient: paging, the KQL subset, errors."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from azuresim import kql
from tests.azuresim.helpers import UNION, all_rows, graph_client, run_query


def test_paging_across_pages_has_no_duplicates_or_gaps(sim, make_tenant):
    tenant = make_tenant(subscriptions=3, resources=500)
    client = graph_client(sim, tenant)
    rows, pages, total = all_rows(
        client, UNION + " | order by id asc", tenant["subscription_ids"], top=100
    )
    ids = [row["id"].lower() for row in rows]
    assert pages >= 5
    assert len(ids) == len(set(ids)) == total
    assert ids == sorted(ids)
    estate = sim.state.estate(tenant["tenant_id"])
    tables = {"resources", "resourcecontainers"}
    assert set(ids) == {k for k in estate.sorted_keys() if estate.meta(k).table in tables}


def test_paging_is_stable_while_the_estate_changes(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=200)
    client = graph_client(sim, tenant)
    subs = tenant["subscription_ids"]
    first = run_query(client, UNION + " | order by id asc", subs, top=50)
    served = [row["id"].lower() for row in first.data]
    sim_client.delete_resource(first.data[10]["id"], caller="alice@contoso.com")
    token = first.skip_token
    while token:
        page = run_query(client, UNION + " | order by id asc", subs, top=50, skip_token=token)
        served.extend(row["id"].lower() for row in page.data)
        token = page.skip_token
    assert len(served) == len(set(served))
    estate = sim.state.estate(tenant["tenant_id"])
    tables = {"resources", "resourcecontainers"}
    assert {k for k in estate.sorted_keys() if estate.meta(k).table in tables} <= set(served)


def test_subscription_scope_is_honoured(sim, make_tenant):
    tenant = make_tenant(subscriptions=3, resources=120)
    client = graph_client(sim, tenant)
    only = tenant["subscription_ids"][1]
    rows, _pages, _total = all_rows(client, "resources", [only], top=1000)
    assert rows and {row["subscriptionId"] for row in rows} == {only}


def test_where_filters_and_projection(sim, make_tenant):
    tenant = make_tenant(resources=200)
    client = graph_client(sim, tenant)
    subs = tenant["subscription_ids"]
    storage = run_query(
        client, "resources | where type =~ 'Microsoft.Storage/storageAccounts'", subs
    )
    assert storage.count > 0
    assert {row["type"] for row in storage.data} == {"microsoft.storage/storageaccounts"}
    assert {"allowBlobPublicAccess", "minimumTlsVersion", "networkAcls"} <= set(
        storage.data[0]["properties"]
    )

    several = run_query(
        client,
        "resources | where type in~ ('microsoft.network/networksecuritygroups', "
        "'Microsoft.KeyVault/vaults') | project id, name, type, properties.enableSoftDelete",
        subs,
    )
    types = {row["type"] for row in several.data}
    assert types == {"microsoft.network/networksecuritygroups", "microsoft.keyvault/vaults"}
    assert set(several.data[0]) == {"id", "name", "type", "properties_enableSoftDelete"}

    roles = run_query(
        client,
        "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' "
        "| order by id asc",
        subs,
    )
    assert roles.count > 0
    assert all(r["type"] == "microsoft.authorization/roleassignments" for r in roles.data)

    limited = run_query(client, "resourcecontainers | take 3", subs)
    assert limited.count == limited.total_records == 3 and limited.skip_token is None


def test_invalid_query_is_azure_badrequest(sim, make_tenant):
    tenant = make_tenant()
    client = graph_client(sim, tenant)
    with pytest.raises(HttpResponseError) as info:
        run_query(client, "resources | summarize count() by type", tenant["subscription_ids"])
    assert info.value.status_code == 400
    assert info.value.error.code == "BadRequest"
    assert info.value.error.details[0].code == "InvalidQuery"


def test_top_above_1000_is_rejected(sim, make_tenant):
    tenant = make_tenant()
    with pytest.raises(HttpResponseError) as info:
        run_query(graph_client(sim, tenant), "resources", tenant["subscription_ids"], top=1001)
    assert info.value.status_code == 400


def test_quota_headers_and_enforced_graph_throttling(sim, sim_client, make_tenant):
    tenant = make_tenant()
    sim_client.set_throttling("enforce", tenant_id=tenant["tenant_id"])
    client = graph_client(sim, tenant)
    seen: list[dict[str, str]] = []

    def hook(response):
        seen.append(dict(response.http_response.headers))

    for _ in range(15):
        run_query(client, "resources | take 1", tenant["subscription_ids"], raw_response_hook=hook)
    remaining = [int(h["x-ms-user-quota-remaining"]) for h in seen]
    assert remaining[0] == 14 and remaining[-1] == 0
    assert seen[-1]["x-ms-user-quota-resets-after"].count(":") == 2
    with pytest.raises(HttpResponseError) as info:
        run_query(client, "resources | take 1", tenant["subscription_ids"])
    assert info.value.status_code == 429
    assert "Retry-After" not in info.value.response.headers
    assert info.value.response.headers["x-ms-user-quota-resets-after"] != "00:00:00"


@pytest.mark.parametrize(
    "text",
    [
        "resources | where type =~ 'a'",
        "resources | union resourcecontainers | order by id asc",
        "resources | union kind=outer withsource=src ResourceContainers | order by id asc",
        "resources | union (resourcecontainers | where type =~ 'x') | where name != 'y'",
        "securityresources | where type =~ 'microsoft.security/assessments'",
        "resources | where (type == 'a' or type in~ ('b', 'c')) and location != 'x' | take 5",
        "Resources | project id, name | limit 10",
        "resources | where properties.allowBlobPublicAccess =~ 'true'",
    ],
)
def test_kql_subset_parses(text):
    assert kql.parse(text).tables


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nosuchresources",
        "resources | extend x = 1",
        "resources | order by name asc",
        "resources | order by id desc",
        "resources | where type",
        "resources | where type =~ ",
        "resources | join kind=inner (resourcecontainers) on subscriptionId",
    ],
)
def test_kql_outside_subset_is_rejected(text):
    with pytest.raises(kql.KqlError):
        kql.parse(text)


def test_kql_predicate_semantics():
    query = kql.parse("resources | where type =~ 'Microsoft.Web/Sites' and name !in ('a')")
    row = {"name": "b", "type": "microsoft.web/sites"}
    meta = type("M", (), {"type": "microsoft.web/sites", "subscription": "s"})()
    assert query.where("k", meta, lambda: row)
    row["name"] = "a"
    assert not query.where("k", meta, lambda: row)
