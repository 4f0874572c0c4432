"""Contract: the documented ``resourcechanges`` rows through the product's parser, and the
simulator's change rows held to the same fields, JSON types and casing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from driftdetector.azure.resourcechanges import parse_change
from tests.azuresim.helpers import all_rows, graph_client
from tests.contracts.examples import missing, shape

ROWS = json.loads((Path(__file__).parent / "fixtures" / "resourcechanges_rows.json").read_text())[
    "rows"
]


def _row_shape(row: dict[str, Any]) -> object:
    """A row's shape with the ``changes`` bag reduced to one entry (its keys are data)."""
    row = json.loads(json.dumps(row))
    changes = row["properties"].get("changes")
    if changes:
        row["properties"]["changes"] = {"path": next(iter(changes.values()))}
    return shape(row)


def test_the_product_reads_the_documented_rows():
    update, delete = (parse_change(row) for row in ROWS)
    assert update.change_type == "Update"
    assert update.resource_id == ROWS[0]["properties"]["targetResourceId"].lower()
    assert (update.changed_by, update.client_type) == ("mallory@contoso.com", "Azure Portal")
    assert update.timestamp == datetime(2024, 6, 12, 13, 26, 17, 347000, tzinfo=UTC)
    assert update.change_id == ROWS[0]["id"].lower()
    assert delete.change_type == "Delete" and delete.timestamp.tzinfo is not None
    assert delete.operation == "microsoft.network/publicipaddresses/delete"


def test_the_simulators_rows_have_the_documented_fields_types_and_casing(
    sim, sim_client, make_tenant
):
    tenant = make_tenant(resources=40, subscriptions=1)
    estate = sim.state.estate(tenant["tenant_id"])
    nsg = next(k for k in estate.sorted_keys() if "networksecuritygroups/" in k)
    pip = next(k for k in estate.sorted_keys() if "publicipaddresses/" in k)
    sim_client.modify_resource(nsg, {"tags": {"owner": "ops"}}, caller="mallory@contoso.com")
    sim_client.delete_resource(pip, caller="04b07795-8ddb-461a-bbee-02f9e1bf7b46")
    since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows, _pages, _total = all_rows(
        graph_client(sim, tenant),
        "resourcechanges | where todatetime(properties.changeAttributes.timestamp) > "
        f"datetime({since}) | order by id asc",
        tenant["subscription_ids"],
        top=1000,
    )
    by_type = {row["properties"]["changeType"]: row for row in rows}
    assert set(by_type) == {"Update", "Delete"}
    for documented in ROWS:
        simulated = by_type[documented["properties"]["changeType"]]
        assert missing(_row_shape(documented), _row_shape(simulated)) == []
        assert set(simulated) == set(documented), "no top-level field more or less"
        assert set(simulated["properties"]) == set(documented["properties"])
        parse_change(simulated)
    update = by_type["Update"]["properties"]
    assert update["changes"]["tags.owner"]["newValue"] == "ops"
    assert update["changeAttributes"]["changesCount"] == len(update["changes"])
    assert by_type["Delete"]["properties"]["changeAttributes"]["changesCount"] == 0
    assert by_type["Delete"]["properties"]["changeAttributes"]["changedByType"] == "AppId"
