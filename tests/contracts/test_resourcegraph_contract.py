"""Contract tests: Azure's REST examples through the product's parsers, and the simulator's
answers held to the same fields, JSON types and casing, so neither drifts unnoticed."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.subscriptions.models import Subscription

from driftdetector.azure import AzureResponseError
from driftdetector.azure.resourcegraph import (
    parse_page,
    refusal_reason,
    subscription_info,
)
from tests.azuresim.helpers import arm_get, graph_client, run_query
from tests.contracts import examples
from tests.contracts.examples import missing, shape


def sim_body(sim, tenant, query: str, top: int = 1000, skip_token: str | None = None) -> dict:
    """The simulator's raw JSON body for a query sent through the real SDK client."""
    bodies: list[dict] = []
    run_query(
        graph_client(sim, tenant),
        query,
        tenant["subscription_ids"],
        top=top,
        skip_token=skip_token,
        raw_response_hook=lambda r: bodies.append(r.http_response.json()),
    )
    return bodies[0]


def test_the_product_reads_the_examples_pages():
    rows, total, token = parse_page(examples.RESOURCES_BASIC_RESPONSE, "example")
    assert (len(rows), total, token) == (2, 2, None)
    assert rows[0]["type"] == "microsoft.network/networkinterfaces"
    rows, total, token = parse_page(examples.RESOURCES_NEXT_PAGE_RESPONSE, "example")
    assert (len(rows), total, token) == (1, 40, "eyAic29tZSI6ICJwYWdlIiB9")
    truncated = {**examples.RESOURCES_BASIC_RESPONSE, "resultTruncated": "true"}
    with pytest.raises(AzureResponseError, match="truncated"):
        parse_page(truncated, "example")
    with pytest.raises(AzureResponseError, match="objectArray"):
        parse_page({**examples.RESOURCES_BASIC_RESPONSE, "data": {"columns": []}}, "example")


def test_the_simulators_pages_have_the_examples_fields_types_and_casing(sim, make_tenant):
    tenant = make_tenant(resources=60)
    body = sim_body(sim, tenant, examples.RESOURCES_BASIC_REQUEST["query"])
    expected = shape(examples.RESOURCES_BASIC_RESPONSE)
    assert missing(expected, shape(body)) == []
    assert set(body) == set(examples.RESOURCES_BASIC_RESPONSE), "no field more or less"
    assert set(body["data"][0]) == set(examples.RESOURCES_BASIC_RESPONSE["data"][0])
    assert all(row["type"] == row["type"].lower() for row in body["data"]), "types lower-case"

    first = sim_body(sim, tenant, "Resources | project id, name, type, location", top=5)
    assert missing(shape(examples.RESOURCES_NEXT_PAGE_RESPONSE), shape(first)) == []
    assert set(first) == set(examples.RESOURCES_NEXT_PAGE_RESPONSE)
    following = sim_body(
        sim, tenant, "Resources | project id, name, type, location", 5, first["$skipToken"]
    )
    assert missing(shape(examples.RESOURCES_NEXT_PAGE_RESPONSE), shape(following)) == []
    rows, total, token = parse_page(following, "simulator")
    assert total == first["totalRecords"] and len(rows) == 5 and token


def test_refusals_have_the_error_shape_and_the_product_names_their_details(sim, make_tenant):
    reason = refusal_reason(orjson_bytes(examples.RESOURCES_ERROR_RESPONSE))
    assert "400 BadRequest" in reason and "InvalidQuery" in reason and "ParserFailure" in reason

    tenant = make_tenant(resources=10)
    with pytest.raises(HttpResponseError) as info:
        run_query(graph_client(sim, tenant), "resources | where", tenant["subscription_ids"])
    body = info.value.response.json()
    assert missing(shape(examples.RESOURCES_ERROR_RESPONSE), shape(body)) == []
    assert "ParserFailure" in refusal_reason(info.value.response.body())


def test_the_product_reads_the_subscriptions_example():
    # The SDK builds its Subscription models from the list's "value" items like this.
    models = [Subscription(item) for item in examples.SUBSCRIPTIONS_LIST_RESPONSE["value"]]
    infos = [subscription_info(sub) for sub in models]
    assert [(i.subscription_id, i.display_name, i.state) for i in infos] == [
        (examples.SUB, "Contoso Production", "Warned")
    ]
    assert models[0].subscription_policies.spending_limit == "Off"


def test_the_simulators_subscriptions_match_the_example(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=2, resources=10, subscription_states={"1": "PastDue"})
    page = arm_get(sim, tenant, "/subscriptions?api-version=2022-12-01").json()
    expected = shape(examples.SUBSCRIPTIONS_LIST_RESPONSE)
    expected.pop("nextLink")  # present only when more pages follow
    assert missing(expected, shape(page)) == []
    states = {s["state"] for s in page["value"]}
    assert states <= set(examples.SUBSCRIPTION_STATES) and "PastDue" in states
    models = [Subscription(item) for item in page["value"]]
    assert {subscription_info(s).state for s in models} == states


def orjson_bytes(value: dict) -> bytes:
    import orjson

    return orjson.dumps(value)
