"""The simulated Activity Log answers as Azure Monitor's ActivityLogs_List (2015-04-01) does:
event sequences, ingestion lag, the spec's ``$filter`` patterns and ``$select`` fields."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from azuresim.activitylog import SELECTABLE, ActivityLog, Caller, EventFilter, parse_time
from azuresim.mutator import mutate
from tests.azuresim.helpers import arm_get


def events_path(subscription: str, flt: str | None = None, select: str | None = None) -> str:
    start = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    flt = flt if flt is not None else f"eventTimestamp ge '{start}'"
    path = (
        f"/subscriptions/{subscription}/providers/Microsoft.Insights/eventtypes/management/"
        f"values?api-version=2015-04-01&$filter={quote(flt)}"
    )
    return path + (f"&$select={quote(select)}" if select is not None else "")


def first_of(sim, tenant, type_name: str) -> str:
    estate = sim.state.estate(tenant["tenant_id"])
    key = next(k for k in estate.sorted_keys() if estate.meta(k).type == type_name)
    return estate.row(key)["id"]


def read_all(sim, tenant, path: str) -> list[dict]:
    events, url = [], path
    while url:
        response = arm_get(sim, tenant, url)
        assert response.status_code == 200, response.text
        body = response.json()
        events.extend(body["value"])
        url = body.get("nextLink", "").replace(sim.base_url, "") or None
    return events


def test_a_write_is_a_started_then_succeeded_sequence_and_async_types_add_accepted(
    sim, sim_client, make_tenant
):
    tenant = make_tenant(subscriptions=1, resources=80)
    sub = tenant["subscription_ids"][0]
    nsg = first_of(sim, tenant, "microsoft.network/networksecuritygroups")
    storage = first_of(sim, tenant, "microsoft.storage/storageaccounts")
    sim_client.modify_resource(nsg, {"tags": {"a": "1"}}, caller="alice@contoso.com")
    sim_client.modify_resource(storage, {"tags": {"a": "1"}}, caller="bob@contoso.com")

    events = read_all(sim, tenant, events_path(sub))
    by_resource: dict[str, list[dict]] = {}
    for event in reversed(events):  # served newest first
        by_resource.setdefault(event["resourceId"], []).append(event)
    sync, lro = by_resource[nsg], by_resource[storage]
    assert [e["status"]["value"] for e in sync] == ["Started", "Succeeded"]
    assert [e["status"]["value"] for e in lro] == ["Started", "Accepted", "Succeeded"]
    assert [e["eventName"]["value"] for e in lro] == ["BeginRequest", "EndRequest", "EndRequest"]
    assert lro[1]["subStatus"]["localizedValue"] == "Accepted (HTTP Status Code: 202)"
    for sequence in (sync, lro):
        assert len({e["correlationId"] for e in sequence}) == 1
        assert len({e["eventDataId"] for e in sequence}) == len(sequence)
        assert all(e["operationName"]["value"].endswith("/write") for e in sequence)
        stamps = [parse_time(e["eventTimestamp"]) for e in sequence]
        assert stamps == sorted(stamps)


def test_events_become_visible_only_after_their_submission_timestamp(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=1, resources=20)
    sub = tenant["subscription_ids"][0]
    rid = first_of(sim, tenant, "microsoft.network/networksecuritygroups")
    sim_client.set_activity_lag(1.5)
    try:
        sim_client.modify_resource(rid, {"tags": {"late": "yes"}}, caller="carol@contoso.com")
        assert read_all(sim, tenant, events_path(sub)) == []
        time.sleep(1.7)
        events = read_all(sim, tenant, events_path(sub))
    finally:
        sim_client.set_activity_lag(0)
    assert [e["status"]["value"] for e in events] == ["Succeeded", "Started"]
    for event in events:
        lag = parse_time(event["submissionTimestamp"]) - parse_time(event["eventTimestamp"])
        assert lag == timedelta(seconds=1.5)


def test_select_returns_only_the_listed_fields_and_refuses_others(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=1, resources=20)
    sub = tenant["subscription_ids"][0]
    rid = first_of(sim, tenant, "microsoft.network/networksecuritygroups")
    for n in range(4):  # 8 events: two pages of 5 in the test simulator
        sim_client.modify_resource(rid, {"tags": {"n": str(n)}}, caller="dan@contoso.com")

    select = "eventTimestamp,claims,Status,resourceId"
    events = read_all(sim, tenant, events_path(sub, select=select))
    assert len(events) == 8, "nextLink keeps the $select"
    assert all(set(e) == {"eventTimestamp", "claims", "status", "resourceId"} for e in events)

    for field in ("caller", "category", "resourceType", "tenantId", "id", "nonsense"):
        refused = arm_get(sim, tenant, events_path(sub, select=f"eventTimestamp,{field}"))
        assert refused.status_code == 400, field
        assert refused.json()["error"]["code"] == "BadRequest"
        assert field in refused.json()["error"]["message"]
    everything = ",".join(SELECTABLE)
    assert arm_get(sim, tenant, events_path(sub, select=everything)).status_code == 200


@pytest.mark.parametrize(
    "flt",
    [
        "",
        "status eq 'Succeeded'",
        "eventTimestamp ge '2024-01-01T00:00:00Z' and caller eq 'alice@contoso.com'",
        "eventTimestamp ge '2024-01-01T00:00:00Z' or resourceGroupName eq 'rg'",
        "eventTimestamp le '2024-01-01T00:00:00Z'",
        "eventTimestamp ge 'yesterday'",
    ],
)
def test_filters_outside_the_documented_patterns_are_refused(flt, sim, make_tenant):
    tenant = make_tenant(subscriptions=1, resources=0)
    response = arm_get(sim, tenant, events_path(tenant["subscription_ids"][0], flt))
    assert response.status_code == 400, flt
    assert response.json()["error"]["code"] == "BadRequest"


def test_documented_filters_narrow_by_group_resource_provider_and_correlation():
    log = ActivityLog(lag_seconds=0)
    tenant = "11111111-1111-4111-8111-111111111111"
    base = "/subscriptions/22222222-2222-4222-8222-222222222222/resourceGroups"
    nsg = f"{base}/rg-a/providers/Microsoft.Network/networkSecurityGroups/nsg1"
    vault = f"{base}/rg-b/providers/Microsoft.KeyVault/vaults/kv1"
    when = datetime.now(UTC) - timedelta(minutes=5)
    written = log.record(tenant, nsg, "write", Caller.from_value("a@contoso.com"), when)
    log.record(tenant, vault, "delete", Caller.from_value("b@contoso.com"), when)
    window = f"eventTimestamp ge '{(when - timedelta(minutes=1)).isoformat()}'"

    def ids(extra: str = "") -> set[str]:
        flt = EventFilter.parse(window + extra)
        return {e["resourceId"] for e in log.query(written[0]["subscriptionId"], flt)}

    assert ids() == {nsg, vault}
    assert ids(" and resourceGroupName eq 'RG-B'") == {vault}
    assert ids(f" and resourceUri eq '{nsg.upper()}'") == {nsg}
    assert ids(" and resourceProvider eq 'Microsoft.KeyVault'") == {vault}
    assert ids(f" and correlationId eq '{written[0]['correlationId']}'") == {nsg}


def test_an_action_and_a_failed_write_change_nothing_but_are_logged(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=1, resources=80)
    storage = first_of(sim, tenant, "microsoft.storage/storageaccounts")
    before = sim_client.get_resource(storage)

    action = sim_client.invoke_action(storage, "listKeys", caller="eve@contoso.com")
    failed = sim_client.fail_write(storage, caller="mallory@contoso.com")

    assert sim_client.get_resource(storage) == before
    assert [e["status"]["value"] for e in action] == ["Started", "Succeeded"]
    assert action[-1]["operationName"]["value"] == (
        "Microsoft.Storage/storageAccounts/listKeys/action"
    )
    assert action[-1]["httpRequest"]["method"] == "POST"
    assert [e["status"]["value"] for e in failed] == ["Started", "Failed"]
    assert failed[-1]["level"] == "Error"


def test_the_mutator_sprinkles_list_keys_actions(sim, make_tenant):
    tenant = make_tenant(subscriptions=1, resources=120)
    rng = random.Random(4)
    changes = [mutate(sim.state, rng, tenant["tenant_id"]) for _ in range(12)]
    actions = [c["action"] for c in changes if c and "action" in c]
    assert actions, "about half of the mutations are followed by a listKeys"
    assert all(a["operation"].endswith("/listKeys/action") for a in actions)


def test_events_beyond_the_retention_are_gone():
    log = ActivityLog(lag_seconds=0)
    tenant = "11111111-1111-4111-8111-111111111111"
    rid = "/subscriptions/22222222-2222-4222-8222-222222222222/resourceGroups/rg"
    caller = Caller.from_value("a@contoso.com")
    log.record(tenant, rid, "write", caller, datetime.now(UTC) - timedelta(days=91))
    log.record(tenant, rid, "write", caller, datetime.now(UTC) - timedelta(days=1))
    flt = EventFilter.parse(
        f"eventTimestamp ge '{(datetime.now(UTC) - timedelta(days=200)).isoformat()}'"
    )
    events = log.query("22222222-2222-4222-8222-222222222222", flt)
    assert len(events) == 2 and all(
        parse_time(e["eventTimestamp"]) > datetime.now(UTC) - timedelta(days=2) for e in events
    )
