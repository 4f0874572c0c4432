"""Resource Graph's resourcechanges table in the simulator: a row per write, its lag, the
time filter and ``id in~`` on resources, through the real ResourceGraphClient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError

from tests.azuresim.helpers import all_rows, graph_client

SINCE = "resourcechanges | where todatetime(properties.changeAttributes.timestamp) > datetime({})"


def _since(delta: timedelta = timedelta(minutes=5)) -> str:
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def changes(sim, tenant, since: str | None = None) -> list[dict]:
    query = SINCE.format(since or _since()) + " | order by id asc"
    return all_rows(graph_client(sim, tenant), query, tenant["subscription_ids"], top=1000)[0]


def test_every_write_adds_one_change_row_with_its_caller(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=40, subscriptions=1)
    keys = sim.state.estate(tenant["tenant_id"]).sorted_keys()
    nsg = next(k for k in keys if "networksecuritygroups/" in k)
    rg = nsg.split("/providers/")[0]
    new_id = f"{rg}/providers/Microsoft.Storage/storageAccounts/stchanges01"
    sim_client.create_resource(
        {"id": new_id, "type": "Microsoft.Storage/storageAccounts"}, caller="ci@contoso.com"
    )
    sim_client.open_inbound_port(nsg, caller={"upn": "eve@contoso.com", "client_type": "Azure CLI"})
    sim_client.delete_resource(new_id, caller="ci@contoso.com")
    sim_client.mutate_once(tenant["tenant_id"])

    rows = changes(sim, tenant)

    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["properties"]["changeType"], []).append(row["properties"])
    assert len(by_kind["Create"]) == 1 and len(by_kind["Delete"]) == 1
    assert len(by_kind["Update"]) == 2, "the control API's update and the mutator's"
    nsg_update = next(p for p in by_kind["Update"] if p["targetResourceId"].lower() == nsg)
    attributes = nsg_update["changeAttributes"]
    assert (attributes["changedBy"], attributes["clientType"]) == ("eve@contoso.com", "Azure CLI")
    assert attributes["operation"] == "microsoft.network/networksecuritygroups/write"
    assert any(path.startswith("properties.securityRules") for path in nsg_update["changes"])
    entry = next(iter(nsg_update["changes"].values()))
    assert entry["propertyChangeType"] in ("Insert", "Update", "Remove")
    create = by_kind["Create"][0]
    assert "changes" not in create and create["changeAttributes"]["changesCount"] == 0
    assert create["changeAttributes"]["previousResourceSnapshotId"] == ""
    delete = by_kind["Delete"][0]
    assert (
        delete["changeAttributes"]["previousResourceSnapshotId"]
        == (create["changeAttributes"]["newResourceSnapshotId"])
    )
    assert all(row["type"] == "microsoft.resources/changes" for row in rows)
    assert [r["id"].lower() for r in rows] == sorted(r["id"].lower() for r in rows)


def test_the_time_filter_leaves_older_changes_out(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=40, subscriptions=1)
    nsg = next(
        k
        for k in sim.state.estate(tenant["tenant_id"]).sorted_keys()
        if "networksecuritygroups/" in k
    )
    sim_client.modify_resource(nsg, {"tags": {"a": "1"}})
    cut = _since(timedelta(0))
    sim_client.modify_resource(nsg, {"tags": {"a": "2"}})
    rows = changes(sim, tenant, since=cut)
    assert [r["properties"]["changes"]["tags.a"]["newValue"] for r in rows] == ["2"]


def test_a_change_is_invisible_until_the_ingestion_lag_has_passed(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=40, subscriptions=1)
    nsg = next(
        k
        for k in sim.state.estate(tenant["tenant_id"]).sorted_keys()
        if "networksecuritygroups/" in k
    )
    try:
        assert sim_client.set_changes_lag(30) == 30
        sim_client.modify_resource(nsg, {"tags": {"late": "yes"}})
        assert changes(sim, tenant) == []
        later = datetime.now(UTC) + timedelta(seconds=31)
        assert len(sim.state.changes.visible(tenant["tenant_id"], now=later)) == 1
    finally:
        sim_client.set_changes_lag(0)


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        (
            "resourcechanges | where properties.changeAttributes.timestamp > datetime(2024-01-01)",
            "ParserFailure",
        ),
        (
            "resourcechanges | where todatetime(properties.changeAttributes.timestamp) > '2024'",
            "ParserFailure",
        ),
        (
            "resourcechanges | where todatetime(properties.x) > datetime(2024-13-45)",
            "ParserFailure",
        ),
        ("resources | union resourcechanges", "UnsupportedUnionUsage"),
    ],
)
def test_time_filters_outside_the_documented_form_are_refused(sim, make_tenant, query, detail):
    tenant = make_tenant(resources=10, subscriptions=1)
    with pytest.raises(HttpResponseError) as raised:
        all_rows(graph_client(sim, tenant), query, tenant["subscription_ids"], top=10)
    assert raised.value.status_code == 400
    assert detail in raised.value.response.text()


def test_resources_by_id_in_returns_just_those_ids_case_insensitively(sim, make_tenant):
    tenant = make_tenant(resources=60, subscriptions=1)
    estate = sim.state.estate(tenant["tenant_id"])
    keys = [k for k in estate.sorted_keys() if estate.meta(k).table == "resources"]
    wanted = [keys[3].upper(), keys[7], "/subscriptions/x/resourcegroups/y/providers/a/b/gone"]
    literal = ", ".join(f"'{k}'" for k in wanted)
    rows, _p, _t = all_rows(
        graph_client(sim, tenant),
        f"resources | where id in~ ({literal}) | order by id asc",
        tenant["subscription_ids"],
        top=1000,
    )
    assert sorted(r["id"].lower() for r in rows) == sorted([keys[3], keys[7]])
