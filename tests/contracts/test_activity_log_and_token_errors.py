"""Contract tests: Azure's documented shapes (fixtures in ``fixtures/``, see its README) go
through the product's parsers, and the simulator's answers have the same fields, types and
casing, so the simulator and the product cannot drift apart from Azure unnoticed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError

from driftdetector.azure.activitylog import change_event
from driftdetector.azure.errors import AzureAuthError, translate
from tests.azuresim.helpers import arm_get

FIXTURES = Path(__file__).parent / "fixtures"
# EventData's properties in the 2015-04-01 spec; Azure also sends channels and relatedEvents.
EVENT_DATA_FIELDS = {
    "authorization",
    "claims",
    "caller",
    "description",
    "id",
    "eventDataId",
    "correlationId",
    "eventName",
    "category",
    "httpRequest",
    "level",
    "resourceGroupName",
    "resourceProviderName",
    "resourceId",
    "resourceType",
    "operationId",
    "operationName",
    "properties",
    "status",
    "subStatus",
    "eventTimestamp",
    "submissionTimestamp",
    "subscriptionId",
    "tenantId",
}
UNDOCUMENTED_BUT_SENT = {"channels", "relatedEvents"}
LOCALIZABLE = {"value", "localizedValue"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def shape(value: Any) -> Any:
    """Field names and JSON types, recursively (values ignored)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_the_product_reads_the_documented_page():
    page = load("activity_log_page.json")
    changes = [change_event(event) for event in page["value"]]
    write, started, list_keys = changes
    assert started is None, "a Started event is not the outcome"
    assert list_keys is None, "listKeys/action changed nothing"
    assert write.caller == "ops.lead@fabrikam.example"
    assert write.resource_id == page["value"][0]["resourceId"].lower()
    assert write.at == datetime(2024, 5, 1, 10, 0, 26, 412345, UTC)
    assert write.operation == "microsoft.network/networksecuritygroups/write"


@pytest.fixture
def sim_page(sim, sim_client, make_tenant) -> list[dict[str, Any]]:
    tenant = make_tenant(subscriptions=1, resources=80)
    estate = sim.state.estate(tenant["tenant_id"])
    by_type = {estate.meta(k).type: estate.row(k)["id"] for k in estate.sorted_keys()}
    nsg = by_type["microsoft.network/networksecuritygroups"]
    storage = by_type["microsoft.storage/storageaccounts"]
    sim_client.modify_resource(nsg, {"tags": {"c": "1"}}, caller="ops.lead@fabrikam.example")
    sim_client.invoke_action(storage, "listKeys", caller="backup-robot@fabrikam.example")
    path = (
        f"/subscriptions/{tenant['subscription_ids'][0]}/providers/Microsoft.Insights/"
        "eventtypes/management/values?api-version=2015-04-01"
        "&$filter=eventTimestamp ge '2000-01-01T00:00:00Z'"
    )
    response = arm_get(sim, tenant, path)
    assert response.status_code == 200
    return response.json()["value"]


def test_the_simulator_sends_the_documented_fields_types_and_casing(sim_page):
    documented = load("activity_log_page.json")["value"][0]
    for event in sim_page:
        assert set(event) <= EVENT_DATA_FIELDS | UNDOCUMENTED_BUT_SENT, set(event)
        assert set(documented) - {"authorization", "claims"} <= set(event)
        for name, value in documented.items():
            if name in ("claims", "properties", "authorization", "httpRequest"):
                assert isinstance(event[name], dict)
                assert all(isinstance(v, str) for v in event[name].values()), name
            elif isinstance(value, dict):
                assert set(event[name]) == LOCALIZABLE == set(value), name
            else:
                assert type(event[name]) is type(value), name
        assert TIMESTAMP.match(event["eventTimestamp"]) and TIMESTAMP.match(
            event["submissionTimestamp"]
        )
        assert event["level"] in ("Critical", "Error", "Warning", "Informational", "Verbose")
        assert re.fullmatch(r".+/events/[0-9a-f-]{36}/ticks/\d+", event["id"])


def test_the_product_reads_the_simulator_as_it_reads_the_documented_page(sim_page):
    documented = [change_event(e) for e in load("activity_log_page.json")["value"]]
    simulated = [change_event(e) for e in sim_page]
    assert [c is None for c in documented].count(False) == 1
    assert [c is None for c in simulated].count(False) == 1, "one write: its Succeeded event"
    (doc,) = [c for c in documented if c]
    (sim,) = [c for c in simulated if c]
    assert (doc.caller, sim.caller) == ("ops.lead@fabrikam.example",) * 2
    assert doc.operation.endswith("/write") and sim.operation.endswith("/write")
    assert type(doc.at) is type(sim.at) and sim.at.tzinfo is not None


@pytest.mark.parametrize("case", ["invalid_tenant", "invalid_client"])
def test_token_errors_match_the_documented_body(case, sim, make_tenant):
    documented = load("token_errors.json")[case]
    tenant = make_tenant(resources=0, subscriptions=0)
    tenant_id = "6d1e0c3b-2a49-4f58-9e67-0d1c2b3a4f5e" if case == "invalid_tenant" else None
    answer = requests.post(
        f"{sim.base_url}/{tenant_id or tenant['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant["client_id"],
            "client_secret": "wrong",
            "scope": f"{sim.base_url}/.default",
        },
        verify=str(sim.ca_path),
        timeout=10,
    )
    body = answer.json()
    assert answer.status_code == documented["status"]
    assert shape(body) == shape(documented["body"])
    assert body["error"] == documented["body"]["error"]
    assert body["error_codes"] == documented["body"]["error_codes"]
    code = documented["body"]["error_codes"][0]
    for text in (body["error_description"], documented["body"]["error_description"]):
        head, *trace = text.split("\r\n")
        assert head.startswith(f"AADSTS{code}: ")
        assert [line.split(":")[0] for line in trace] == ["Trace ID", "Correlation ID", "Timestamp"]
        # What the product shows an operator: the AADSTS sentence, without trace lines.
        error = translate(ClientAuthenticationError(message=text), "getting a token")
        assert isinstance(error, AzureAuthError)
        assert f"AADSTS{code}:" in error.message and "Trace ID" not in error.message
