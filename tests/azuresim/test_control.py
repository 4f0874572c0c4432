"""Control interface: writes show up in Graph and the Activity Log; faults; mutator; config."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.core.exceptions import DecodeError, HttpResponseError

from azuresim.client import SimControlError
from azuresim.config import apply_config, load_config
from azuresim.state import SimState
from tests.azuresim.helpers import arm_get, graph_client, run_query

NSG_TYPE = "microsoft.network/networksecuritygroups"


def _events(sim, tenant, subscription):
    path = (
        f"/subscriptions/{subscription}/providers/Microsoft.Insights/eventtypes/management/values"
        "?api-version=2015-04-01&$filter=eventTimestamp ge '2020-01-01T00:00:00Z'"
    )
    events = []
    response = arm_get(sim, tenant, path)
    while True:
        assert response.status_code == 200
        body = response.json()
        events.extend(body["value"])
        if not body.get("nextLink"):
            return events
        response = arm_get(sim, tenant, body["nextLink"][len(sim.base_url) :])


def test_create_modify_delete_visible_in_graph_and_activity_log(sim, sim_client, make_tenant):
    tenant = make_tenant()
    sub = tenant["subscription_ids"][0]
    client = graph_client(sim, tenant)
    rid = (
        f"/subscriptions/{sub}/resourceGroups/rg-demo/providers/"
        "Microsoft.Network/networkSecurityGroups/nsg-new"
    )

    created = sim_client.create_resource(
        {
            "id": rid,
            "type": "Microsoft.Network/networkSecurityGroups",
            "properties": {"securityRules": []},
        },
        caller="alice@contoso.com",
    )
    assert created["type"] == NSG_TYPE and created["resourceGroup"] == "rg-demo"
    query = f"resources | where id =~ '{rid}'"
    assert run_query(client, query, [sub]).data[0]["properties"]["securityRules"] == []

    sim_client.modify_resource(rid, {"tags": {"env": "prod"}}, caller="bob@contoso.com")
    assert run_query(client, query, [sub]).data[0]["tags"] == {"env": "prod"}

    sim_client.delete_resource(rid, caller="9f1c2e4a-7d3b-4c8e-a1f0-5b6d7e8f9a0b")
    assert run_query(client, query, [sub]).count == 0

    events = [e for e in _events(sim, tenant, sub) if e["resourceId"] == rid]
    assert [e["caller"] for e in events][:2] == [
        events[0]["claims"]["http://schemas.microsoft.com/identity/claims/objectidentifier"],
        "bob@contoso.com",
    ]
    assert events[-1]["caller"] == "alice@contoso.com"
    assert events[0]["operationName"]["value"] == "Microsoft.Network/networkSecurityGroups/delete"
    assert events[1]["authorization"]["action"] == "Microsoft.Network/networkSecurityGroups/write"
    assert events[0]["claims"]["appid"] == "9f1c2e4a-7d3b-4c8e-a1f0-5b6d7e8f9a0b"
    assert (
        events[1]["claims"]["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"]
        == "bob@contoso.com"
    )
    assert events[1]["httpRequest"]["clientIpAddress"]
    assert events[1]["status"]["value"] == "Succeeded" and events[1]["correlationId"]


def test_control_errors(sim_client, make_tenant):
    tenant = make_tenant()
    with pytest.raises(SimControlError) as info:
        sim_client.modify_resource(f"/subscriptions/{tenant['subscription_ids'][0]}/x/y", {})
    assert info.value.status == 404
    with pytest.raises(SimControlError) as info:
        sim_client.add_fault(action="explode")
    assert info.value.status == 400
    first_rg = sim_client.get_tenant(tenant["tenant_id"])["subscription_ids"][0]
    with pytest.raises(SimControlError) as info:
        sim_client.create_resource(
            {"id": f"/subscriptions/{first_rg}", "type": "Microsoft.Resources/subscriptions"}
        )
    assert info.value.status == 409


def test_faults_fire_count_times_and_scope_by_tenant(sim, sim_client, make_tenant):
    tenant, bystander = make_tenant(), make_tenant()
    sim_client.add_fault(
        action="status",
        status=503,
        tenant_id=tenant["tenant_id"],
        path_regex="resourcegraph",
        count=2,
    )
    client = graph_client(sim, tenant)
    for _ in range(2):
        with pytest.raises(HttpResponseError) as info:
            run_query(client, "resources", tenant["subscription_ids"])
        assert info.value.status_code == 503
    assert run_query(client, "resources", tenant["subscription_ids"]).count > 0
    assert sim_client.list_faults() == []

    sim_client.add_fault(action="malformed", tenant_id=tenant["tenant_id"], count=None)
    assert (
        run_query(graph_client(sim, bystander), "resources", bystander["subscription_ids"]).count
        > 0
    )
    with pytest.raises(DecodeError):
        run_query(client, "resources", tenant["subscription_ids"])
    assert sim_client.list_faults()[0]["fired"] == 1
    sim_client.clear_faults()


def test_fault_on_graph_page_k_only(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=100)
    sim_client.add_fault(status=500, page=2, count=None, tenant_id=tenant["tenant_id"])
    client = graph_client(sim, tenant)
    subs = tenant["subscription_ids"]
    first = run_query(client, "resources | order by id asc", subs, top=30)
    assert first.count == 30
    with pytest.raises(HttpResponseError) as info:
        run_query(client, "resources | order by id asc", subs, top=30, skip_token=first.skip_token)
    assert info.value.status_code == 500


def test_mutator_step_and_background(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=200)
    changes = sim_client.mutate_once(tenant_id=tenant["tenant_id"], count=6, seed=4)
    assert len(changes) == 6
    assert all(c["tenant_id"] == tenant["tenant_id"] and c["caller"] for c in changes)
    changed = sim_client.get_resource(changes[0]["id"])
    assert changed["id"] == changes[0]["id"]
    sub = changes[0]["id"].split("/")[2]
    assert any(e["resourceId"] == changes[0]["id"] for e in _events(sim, tenant, sub))

    sim_client.start_mutator(interval=0.05, tenant_id=tenant["tenant_id"], seed=1)
    deadline = time.monotonic() + 10
    while sim_client.mutator_status()["changes"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    final = sim_client.stop_mutator()
    assert final["changes"] >= 2
    assert sim_client.mutator_status() == {"running": False}


def test_config_file_registers_tenants(tmp_path: Path):
    config = {
        "options": {"throttling": "headers"},
        "tenants": [
            {"name": "Contoso", "seed": 1, "subscriptions": 2, "resources": 40},
            {
                "name": "Northwind",
                "tenant_id": "0b1f4c9e-7f3a-4d7e-8a8b-1c2d3e4f5a6b",
                "client_secret": "x",
            },
        ],
    }
    path = tmp_path / "sim.json"
    path.write_text(json.dumps(config))
    state = SimState()
    specs = apply_config(state, load_config(path))
    assert [s.name for s in specs] == ["Contoso", "Northwind"]
    assert state.estate("0b1f4c9e-7f3a-4d7e-8a8b-1c2d3e4f5a6b").spec.client_secret == "x"
    assert len(state.estate(specs[0].tenant_id).subscription_ids) == 2


def test_command_line_starts_and_serves(tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"tenants": [{"name": "Cli", "resources": 20}]}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "azuresim",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path),
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        first_line = proc.stdout.readline()
        assert first_line.startswith("azuresim listening on https://127.0.0.1:")
        info = json.loads((tmp_path / "sim.json").read_text())
        from azuresim.client import SimClient

        client = SimClient(info["base_url"], info["ca_path"])
        assert client.health()["tenants"] == 1
        assert client.list_tenants()[0]["name"] == "Cli"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
