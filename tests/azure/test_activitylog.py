"""Latest caller per resource from the Activity Log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftdetector.azure import AzureResponseError, activity_log_callers
from driftdetector.azure.activitylog import OID_CLAIM as OID
from driftdetector.azure.activitylog import UPN_CLAIM as UPN
from driftdetector.azure.activitylog import change_event


def test_callers_from_writes_latest_wins_and_pages_followed(
    sim, sim_client, connect_to, make_tenant
):
    tenant = make_tenant(subscriptions=1, resources=60)
    sub = tenant["subscription_ids"][0]
    estate = sim.state.estate(tenant["tenant_id"])
    keys = [k for k in estate.sorted_keys() if estate.meta(k).table == "resources"][:4]
    ids = [estate.row(k)["id"] for k in keys]
    start = datetime.now(UTC) - timedelta(minutes=1)
    for n in range(4):
        sim_client.modify_resource(ids[0], {"tags": {"n": str(n)}}, caller="alice@contoso.com")
    sim_client.modify_resource(ids[0], {"tags": {"n": "last"}}, caller="bob@contoso.com")
    sim_client.modify_resource(
        ids[1], {"tags": {"x": "1"}}, caller={"app_id": "a1b2c3d4-0000-4000-8000-000000000001"}
    )
    sim_client.delete_resource(ids[2], caller="carol@contoso.com")
    conn = connect_to(tenant)
    callers = activity_log_callers(conn, sub, start, datetime.now(UTC) + timedelta(minutes=1))
    assert callers[ids[0].lower()] == "bob@contoso.com"
    assert callers[ids[2].lower()] == "carol@contoso.com"
    assert callers[ids[1].lower()]  # service principal: its object id
    assert ids[3].lower() not in callers
    # 7 operations of 2-3 events each, 5 per page in the test simulator
    events = sum(len(sim.state.activity.query(sub, flt)) for flt in [_everything()])
    assert events >= 14 and conn.stats.arm_calls == -(-events // 5)


def _everything():
    from azuresim.activitylog import EventFilter

    return EventFilter.parse("eventTimestamp ge '2000-01-01T00:00:00Z'")


def test_an_action_or_a_failed_write_after_the_change_takes_no_blame(
    sim, sim_client, connect_to, make_tenant
):
    tenant = make_tenant(subscriptions=1, resources=80)
    estate = sim.state.estate(tenant["tenant_id"])
    key = next(
        k
        for k in estate.sorted_keys()
        if estate.meta(k).type == "microsoft.storage/storageaccounts"
    )
    rid = estate.row(key)["id"]
    start = datetime.now(UTC) - timedelta(minutes=1)
    sim_client.modify_resource(rid, {"tags": {"owner": "x"}}, caller="writer@contoso.com")
    sim_client.invoke_action(rid, "listKeys", caller="reader@contoso.com")
    sim_client.fail_write(rid, caller="refused@contoso.com")
    callers = activity_log_callers(
        connect_to(tenant), tenant["subscription_ids"][0], start, datetime.now(UTC)
    )
    assert callers == {rid.lower(): "writer@contoso.com"}


def test_only_succeeded_writes_and_deletes_are_changes():
    base = {
        "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app",
        "eventTimestamp": "2024-05-01T10:00:00.1234567Z",
        "claims": {UPN: "ann@contoso.com"},
    }

    def event(operation: str, status: str) -> dict:
        return {**base, "operationName": {"value": operation}, "status": {"value": status}}

    write = "Microsoft.Web/sites/write"
    assert change_event(event(write, "Succeeded")).caller == "ann@contoso.com"
    assert change_event(event("Microsoft.Web/sites/delete", "Succeeded")) is not None
    for operation, status in [
        (write, "Started"),
        (write, "Accepted"),
        (write, "Failed"),
        (write, ""),
        ("Microsoft.Web/sites/restart/action", "Succeeded"),
        ("Microsoft.Web/sites/config/list/action", "Succeeded"),
        ("Microsoft.Web/sites/read", "Succeeded"),
    ]:
        assert change_event(event(operation, status)) is None, (operation, status)
    app = change_event({**event(write, "Succeeded"), "claims": {"appid": "a1", OID: "o1"}})
    assert app.caller == "a1" and app.at == datetime(2024, 5, 1, 10, 0, 0, 123456, UTC)


def test_window_excludes_older_events(sim, sim_client, connect_to, make_tenant):
    tenant = make_tenant(subscriptions=1)
    estate = sim.state.estate(tenant["tenant_id"])
    rid = estate.row(next(k for k in estate.sorted_keys() if estate.meta(k).table == "resources"))[
        "id"
    ]
    sim_client.modify_resource(rid, {"tags": {"a": "b"}}, caller="alice@contoso.com")
    later = datetime.now(UTC) + timedelta(seconds=5)
    callers = activity_log_callers(
        conn := connect_to(tenant), tenant["subscription_ids"][0], later, later + timedelta(hours=1)
    )
    assert callers == {} and conn.stats.arm_calls == 1


def test_malformed_activity_log_is_a_typed_error(sim_client, connect_to, make_tenant):
    tenant = make_tenant(subscriptions=1)
    sim_client.add_fault(
        action="malformed", path_regex="eventtypes", count=1, tenant_id=tenant["tenant_id"]
    )
    now = datetime.now(UTC)
    with pytest.raises(AzureResponseError):
        activity_log_callers(
            connect_to(tenant), tenant["subscription_ids"][0], now - timedelta(hours=1), now
        )
