"""Latest caller per resource from the Activity Log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftdetector.azure import AzureResponseError, activity_log_callers


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
    assert conn.stats.arm_calls == 2  # 7 events, 5 per page in the test simulator


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
