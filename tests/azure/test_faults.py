"""Faults injected by the simulator surface as waits, retries or typed errors."""

from __future__ import annotations

import pytest

from driftdetector.azure import (
    COLLECTION_QUERIES,
    AzureResponseError,
    AzureThrottledError,
    AzureTimeoutError,
    ClientOptions,
    iter_resource_pages,
    list_subscriptions,
)
from tests.conftest import FAST

RESOURCES = COLLECTION_QUERIES[:1]  # one table: call counts below are per query


def test_429_with_retry_after_waits_then_succeeds(sim_client, connect_to, make_tenant):
    tenant = make_tenant(resources=40)
    conn = connect_to(tenant)
    sim_client.add_fault(
        status=429,
        retry_after=1,
        path_regex="resourcegraph",
        count=1,
        tenant_id=tenant["tenant_id"],
    )
    pages = list(iter_resource_pages(conn, tenant["subscription_ids"], queries=RESOURCES))
    assert pages[-1].batch_complete
    assert conn.stats.throttle_waits == 1 and conn.stats.throttle_wait_seconds >= 1
    assert conn.stats.graph_calls == 2


def test_5xx_on_page_2_is_a_typed_error_after_retries(sim_client, connect_to, make_tenant):
    tenant = make_tenant(resources=100)
    conn = connect_to(tenant)
    sim_client.add_fault(status=503, page=2, count=None, tenant_id=tenant["tenant_id"])
    pages = iter_resource_pages(conn, tenant["subscription_ids"], page_size=40)
    first = next(pages)
    assert first.number == 1 and not first.batch_complete
    with pytest.raises(AzureResponseError) as info:
        next(pages)
    assert info.value.status == 503 and "page 2" in info.value.message
    assert sim_client.list_faults()[0]["fired"] == FAST.retry_total + 1
    assert conn.stats.retries == FAST.retry_total


def test_malformed_json_is_a_typed_error(sim_client, connect_to, make_tenant):
    tenant = make_tenant()
    conn = connect_to(tenant)
    sim_client.add_fault(
        action="malformed", path_regex="resourcegraph", count=1, tenant_id=tenant["tenant_id"]
    )
    with pytest.raises(AzureResponseError) as info:
        list(iter_resource_pages(conn, tenant["subscription_ids"]))
    assert "not valid JSON" in info.value.message


def test_timeout_is_a_typed_error(sim_client, connect_to, make_tenant):
    tenant = make_tenant()
    conn = connect_to(tenant, options=ClientOptions(retry_total=0, read_timeout=0.3))
    sim_client.add_fault(
        action="delay",
        delay=1.5,
        path_regex="resourcegraph",
        count=1,
        tenant_id=tenant["tenant_id"],
    )
    with pytest.raises(AzureTimeoutError):
        list(iter_resource_pages(conn, tenant["subscription_ids"]))


def test_graph_429_without_retry_after_uses_quota_reset(sim_client, connect_to, make_tenant):
    tenant = make_tenant()
    waits: list[float] = []
    conn = connect_to(tenant, options=ClientOptions(retry_total=0, sleep=waits.append))
    sim_client.add_fault(
        status=429,
        path_regex="resourcegraph",
        count=2,
        tenant_id=tenant["tenant_id"],
        headers={"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:03"},
    )
    pages = list(iter_resource_pages(conn, tenant["subscription_ids"], queries=RESOURCES))
    assert pages and pages[-1].batch_complete
    assert waits == [3.0, 3.0]
    assert conn.stats.throttle_waits == 2 and conn.stats.graph_calls == 3


def test_persistent_throttling_becomes_azure_throttled_error(sim_client, connect_to, make_tenant):
    tenant = make_tenant()
    conn = connect_to(
        tenant, options=ClientOptions(retry_total=0, max_throttle_retries=1, sleep=lambda s: None)
    )
    sim_client.add_fault(
        status=429,
        path_regex="resourcegraph",
        count=None,
        tenant_id=tenant["tenant_id"],
        headers={"x-ms-user-quota-resets-after": "00:00:01"},
    )
    with pytest.raises(AzureThrottledError) as info:
        list(iter_resource_pages(conn, tenant["subscription_ids"]))
    assert info.value.retry_after == 1.0


def test_retry_after_beyond_the_cap_is_not_slept(sim_client, connect_to, make_tenant):
    tenant = make_tenant()
    conn = connect_to(tenant, options=ClientOptions(max_throttle_wait=2.0))
    sim_client.add_fault(
        status=429,
        retry_after=600,
        path_regex="subscriptions",
        count=1,
        tenant_id=tenant["tenant_id"],
    )
    with pytest.raises(AzureThrottledError) as info:
        list_subscriptions(conn)
    assert info.value.retry_after == 600
