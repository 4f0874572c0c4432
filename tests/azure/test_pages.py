"""Streaming the estate from Resource Graph page by page, one query per table."""

from __future__ import annotations

import pytest

from driftdetector.azure import COLLECTION_QUERIES, AzureResponseError, iter_resource_pages
from driftdetector.azure.kqlquery import TableQuery, build_query

NOT_COLLECTED = {
    "microsoft.authorization/classicadministrators",
    "microsoft.authorization/policydefinitions",
    "microsoft.authorization/policysetdefinitions",
    "microsoft.policyinsights/policystates",
}


def collected_keys(estate) -> set[str]:
    """What the four collection queries should return: everything but built-in role
    definitions, classic administrators, policy definitions, set definitions and states."""
    keys = set()
    for key in estate.sorted_keys():
        meta = estate.meta(key)
        if meta.type in NOT_COLLECTED:
            continue
        if meta.type == "microsoft.authorization/roledefinitions" and not meta.subscription:
            continue
        keys.add(key)
    return keys


def test_pages_cover_each_table_without_duplicates_or_gaps(sim, connect_to, make_tenant):
    tenant = make_tenant(subscriptions=3, resources=300)
    conn = connect_to(tenant)
    pages = list(iter_resource_pages(conn, page_size=100))
    ids = [row["id"].lower() for page in pages for row in page.rows]
    assert len(ids) == len(set(ids))
    estate = sim.state.estate(tenant["tenant_id"])
    assert set(ids) == collected_keys(estate)
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    by_table: dict[str, list] = {}
    for page in pages:
        by_table.setdefault(page.table, []).append(page)
    assert list(by_table) == [q.table for q in COLLECTION_QUERIES], "tables in order"
    for table, table_pages in by_table.items():
        table_ids = [row["id"].lower() for p in table_pages for row in p.rows]
        assert table_ids == sorted(table_ids), f"{table} sorted by id"
        assert len(table_ids) == table_pages[0].total_records
        assert [p.batch_complete for p in table_pages] == [False] * (len(table_pages) - 1) + [True]
        assert all(estate.meta(i).table == table for i in table_ids)
    assert len(by_table["resources"]) == 3, "300 resources at 100 a page"
    types = {row["type"] for p in by_table["authorizationresources"] for row in p.rows} | {
        row["type"] for p in by_table["policyresources"] for row in p.rows
    }
    assert types == {
        "microsoft.authorization/roleassignments",
        "microsoft.authorization/roledefinitions",
        "microsoft.authorization/policyassignments",
        "microsoft.authorization/policyexemptions",
    }
    assert all(
        row["properties"]["type"] == "CustomRole"
        for p in by_table["authorizationresources"]
        for row in p.rows
        if row["type"].endswith("roledefinitions")
    )
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
    assert len(pages) == 3 * len(COLLECTION_QUERIES) and all(p.batch_complete for p in pages)
    assert sorted({p.subscriptions[0] for p in pages}) == sorted(tenant["subscription_ids"])
    for page in pages:
        assert {row["subscriptionId"] for row in page.rows} <= set(page.subscriptions)


def test_pages_are_streamed_lazily(sim_client, connect_to, make_tenant):
    tenant = make_tenant(resources=200)
    conn = connect_to(tenant)
    pages = iter_resource_pages(conn, tenant["subscription_ids"], page_size=50)
    before = sim_client.stats().get("graph.resources", 0)
    next(pages)
    assert sim_client.stats()["graph.resources"] == before + 1


def test_collection_queries_sort_by_id_and_page_size_is_checked(connect_to, make_tenant):
    assert all(q.text.endswith("| order by id asc") for q in COLLECTION_QUERIES)
    conn = connect_to(make_tenant())
    with pytest.raises(ValueError):
        next(iter_resource_pages(conn, [], page_size=1001))


def test_a_failed_table_is_reported_and_the_other_tables_still_run(
    sim_client, connect_to, make_tenant
):
    tenant = make_tenant(resources=60)
    conn = connect_to(tenant)
    sim_client.add_fault(
        status=503, table="authorizationresources", count=None, tenant_id=tenant["tenant_id"]
    )
    failures = []
    pages = list(iter_resource_pages(conn, tenant["subscription_ids"], on_failure=failures.append))
    assert [f.query.table for f in failures] == ["authorizationresources"]
    assert failures[0].error.status == 503
    assert [p.table for p in pages] == ["resources", "resourcecontainers", "policyresources"]


def test_a_refused_query_names_azures_detail_codes(connect_to, make_tenant):
    """The simulator answers the old comma-list union as Resource Graph does: 400."""
    tenant = make_tenant(resources=20)
    conn = connect_to(tenant)
    old = TableQuery(
        "resources",
        "resources | union resourcecontainers, authorizationresources, policyresources"
        " | order by id asc",
    )
    with pytest.raises(AzureResponseError) as info:
        list(iter_resource_pages(conn, tenant["subscription_ids"], queries=[old]))
    assert info.value.status == 400
    assert "InvalidQuery" in info.value.message and "UnsupportedUnionUsage" in info.value.message
    # The builder's documented cross-table union is accepted and answered.
    union = TableQuery(
        "resources", build_query("resources", union=[], project=["id", "name", "type"])
    )
    assert list(iter_resource_pages(conn, tenant["subscription_ids"], queries=[union]))
