"""The query builder keeps to Resource Graph's documented subset; the simulator agrees."""

from __future__ import annotations

import pytest

from azuresim import kql
from driftdetector.azure.kqlquery import (
    COLLECTION_QUERIES,
    QueryBuildError,
    UnionLeg,
    build_query,
    field_in,
    field_is,
    table_for_type,
)


def test_collection_is_one_sorted_query_per_table():
    assert [q.table for q in COLLECTION_QUERIES] == [
        "resources",
        "resourcecontainers",
        "authorizationresources",
        "policyresources",
    ]
    for query in COLLECTION_QUERIES:
        assert query.text.startswith(query.table)
        assert query.text.endswith("| order by id asc")
        assert "union" not in query.text
        parsed = kql.parse(query.text)  # the simulator's strict parser accepts each
        assert parsed.tables == [query.table]
    authorization = COLLECTION_QUERIES[2]
    assert "CustomRole" in authorization.text
    assert authorization.covers("Microsoft.Authorization/roleDefinitions")
    assert not authorization.covers("microsoft.authorization/classicadministrators")
    policy = COLLECTION_QUERIES[3]
    assert policy.covers("microsoft.authorization/policyexemptions")
    assert not policy.covers("microsoft.authorization/policydefinitions")
    assert not policy.covers("microsoft.policyinsights/policystates")
    assert COLLECTION_QUERIES[0].covers("microsoft.keyvault/vaults")
    assert not COLLECTION_QUERIES[0].covers("microsoft.resources/subscriptions")


def test_documented_union_forms_are_built_and_accepted_by_the_simulator():
    text = build_query(
        "Resources",
        union=[UnionLeg("ResourceContainers", kind="outer", withsource="table")],
        where=[field_is("type", "microsoft.resources/subscriptions")],
        project=["id", "name", "table"],
    )
    assert "| union kind=outer withsource=table resourcecontainers" in text
    assert kql.parse(text).tables == ["resources", "resourcecontainers"]
    same_table = build_query("policyresources", union=[UnionLeg("policyresources")] * 2)
    assert kql.parse(same_table).tables == ["policyresources"] * 3


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"table": "resourcez"}, "not a documented"),
        ({"table": "resources", "union": [UnionLeg("authorizationresources")]}, "Resources and"),
        ({"table": "policyresources", "union": [UnionLeg("resources")]}, "Resources and"),
        ({"table": "resources", "union": [UnionLeg("resources")] * 3}, "at most 3"),
        ({"table": "resources", "union": [UnionLeg("resources", kind="fuzzy")]}, "kind"),
        ({"table": "resources", "union": [UnionLeg("resources", withsource="a b")]}, "column"),
        ({"table": "resources", "project": ["name"]}, "keep 'id'"),
        ({"table": "resources", "project": ["name; drop"]}, "not a column"),
        ({"table": "resources", "where": ["type == 'x'"]}, "built with"),
    ],
)
def test_anything_outside_the_documented_subset_is_refused(kwargs, reason):
    table = kwargs.pop("table")
    with pytest.raises(QueryBuildError, match=reason):
        build_query(table, **kwargs)


def test_literals_are_escaped_and_fields_checked():
    clause = field_is("name", "it's \\ here")
    assert clause.kql == "name =~ 'it\\'s \\\\ here'"
    assert kql.parse(build_query("resources", where=[clause])).tables == ["resources"]
    with pytest.raises(QueryBuildError):
        field_in("type", [])
    with pytest.raises(QueryBuildError):
        field_is("properties..x", "a")
    with pytest.raises(QueryBuildError):
        field_is("type", "line\nbreak")


def test_table_for_type_follows_azures_table_reference():
    assert table_for_type("Microsoft.Resources/subscriptions/resourceGroups") == (
        "resourcecontainers"
    )
    assert table_for_type("microsoft.authorization/roleassignments") == "authorizationresources"
    assert table_for_type("Microsoft.Authorization/policyAssignments") == "policyresources"
    assert table_for_type("microsoft.policyinsights/policystates") == "policyresources"
    assert table_for_type("microsoft.network/virtualnetworks") == "resources"


def test_the_watch_queries_keep_to_the_documented_forms_and_the_simulator_accepts_them():
    from datetime import UTC, datetime

    from driftdetector.azure.kqlquery import (
        MAX_IDS_PER_QUERY,
        changes_since_query,
        resources_by_id_query,
        time_after,
    )

    since = datetime(2024, 6, 12, 13, 26, 17, 347000, tzinfo=UTC)
    changes = changes_since_query(since)
    assert changes.table == "resourcechanges"
    assert (
        "where todatetime(properties.changeAttributes.timestamp) > "
        "datetime(2024-06-12T13:26:17.347000Z)" in changes.text
    )
    assert kql.parse(changes.text).tables == ["resourcechanges"]
    policy = COLLECTION_QUERIES[3]
    narrowed = resources_by_id_query(policy, ["/subscriptions/s/providers/x/y/z'q"])
    assert "id in~ ('/subscriptions/s/providers/x/y/z\\'q')" in narrowed.text
    assert "type in~" in narrowed.text, "the collection query's own filter is kept"
    assert narrowed.types == policy.types
    kql.parse(narrowed.text)
    with pytest.raises(QueryBuildError, match="between 1 and"):
        resources_by_id_query(COLLECTION_QUERIES[0], ["a"] * (MAX_IDS_PER_QUERY + 1))
    with pytest.raises(QueryBuildError, match="only a collection query"):
        resources_by_id_query(changes, ["a"])
    with pytest.raises(QueryBuildError, match="aware"):
        time_after("properties.x", datetime(2024, 1, 1))
    with pytest.raises(QueryBuildError):
        time_after("properties.x) or (1", since)
