"""Streaming the estate from Resource Graph page by page."""

from __future__ import annotations

import pytest

from driftdetector.azure import DEFAULT_QUERY, iter_resource_pages


def test_pages_cover_the_estate_without_duplicates_or_gaps(sim, connect_to, make_tenant):
    tenant = make_tenant(subscriptions=3, resources=300)
    conn = connect_to(tenant)
    pages = list(iter_resource_pages(conn, page_size=100))
    assert len(pages) > 2
    ids = [row["id"].lower() for page in pages for row in page.rows]
    assert len(ids) == len(set(ids)) == pages[0].total_records
    assert ids == sorted(ids)
    assert set(ids) == set(sim.state.estate(tenant["tenant_id"]).sorted_keys())
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert [p.batch_complete for p in pages] == [False] * (len(pages) - 1) + [True]
    assert set(pages[0].subscriptions) == set(tenant["subscription_ids"])
    assert conn.stats.graph_calls == len(pages) and conn.stats.arm_calls >= 1


def test_batches_of_subscriptions_are_reported(connect_to, make_tenant):
    tenant = make_tenant(subscriptions=3, resources=120)
    conn = connect_to(tenant)
    pages = list(
        iter_resource_pages(
            conn, tenant["subscription_ids"], page_size=1000, subscriptions_per_query=1
        )
    )
    assert len(pages) == 3 and all(p.batch_complete for p in pages)
    assert sorted(p.subscriptions[0] for p in pages) == sorted(tenant["subscription_ids"])
    for page in pages:
        assert {row["subscriptionId"] for row in page.rows} == set(page.subscriptions)


def test_pages_are_streamed_lazily(sim_client, connect_to, make_tenant):
    tenant = make_tenant(resources=200)
    conn = connect_to(tenant)
    pages = iter_resource_pages(conn, tenant["subscription_ids"], page_size=50)
    before = sim_client.stats().get("graph.resources", 0)
    next(pages)
    assert sim_client.stats()["graph.resources"] == before + 1


def test_default_query_sorts_by_id_and_page_size_is_checked(connect_to, make_tenant):
    assert "order by id asc" in DEFAULT_QUERY
    conn = connect_to(make_tenant())
    with pytest.raises(ValueError):
        next(iter_resource_pages(conn, [], page_size=1001))
