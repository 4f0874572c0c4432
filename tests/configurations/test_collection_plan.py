"""Page planning (pure): what a page creates, updates, restores or leaves alone."""

from __future__ import annotations

from configurations.collection import Observed, Stored, observe, plan_page
from configurations.diffing import side_by_side_html


def item(rid: str, digest: str) -> Observed:
    return Observed(
        rid, "microsoft.storage/storageaccounts", rid, "sub", "rg", "westeurope", {}, digest
    )


def test_plan_sorts_each_resource_into_one_bucket():
    stored = {
        "/a": Stored(pk=1, config_hash="h1", deleted=False),
        "/b": Stored(pk=2, config_hash="h2", deleted=False),
        "/c": Stored(pk=3, config_hash="h3", deleted=True),
    }
    plan = plan_page(
        [item("/a", "h1"), item("/b", "CHANGED"), item("/c", "h3"), item("/d", "h4")], stored
    )
    assert [o.resource_id for o in plan.created] == ["/d"]
    assert [(s.pk, o.resource_id) for s, o in plan.updated] == [(2, "/b")]
    assert [(s.pk, o.resource_id) for s, o in plan.restored] == [(3, "/c")]
    assert [s.pk for s, _ in plan.unchanged] == [1]


def test_custom_differs_replaces_the_hash_test():
    stored = {"/a": Stored(pk=1, config_hash="same", deleted=False)}
    plan = plan_page([item("/a", "same")], stored, differs=lambda s, o: True)
    assert len(plan.updated) == 1


def test_observe_takes_columns_from_the_normalised_resource():
    raw = {"id": "/SUBSCRIPTIONS/S1/resourceGroups/RG/providers/X/y/Name", "name": "Name"}
    normalized = {
        "id": raw["id"].lower(),
        "type": "x/y",
        "subscriptionId": "s1",
        "resourceGroup": "rg",
        "location": "westeurope",
    }
    observed = observe(raw, normalized, "abc")
    assert observed.resource_id == raw["id"].lower()
    assert (observed.resource_name, observed.subscription_id, observed.resource_group) == (
        "Name",
        "s1",
        "rg",
    )


def test_observe_derives_the_subscription_from_the_id_when_missing():
    normalized = {
        "id": "/subscriptions/s9/resourcegroups/rg1",
        "type": "microsoft.resources/subscriptions/resourcegroups",
    }
    assert observe({"name": "rg1"}, normalized, "h").subscription_id == "s9"


def test_side_by_side_diff_highlights_the_changed_value():
    html = side_by_side_html(
        {"properties": {"access": "Allow"}}, {"properties": {"access": "Deny"}}
    )
    assert "<table" in html and "Allow" in html and "Deny" in html
    assert "diff_chg" in html or "diff_sub" in html


def test_side_by_side_diff_of_a_created_resource_shows_every_new_line():
    html = side_by_side_html(None, {"name": "vnet-ü"})
    assert "vnet-ü" in html


def test_huge_configs_fall_back_to_a_unified_diff():
    before = {f"k{i}": i for i in range(6000)}
    after = {**before, "k5": "changed"}
    html = side_by_side_html(before, after)
    assert html.startswith('<pre class="config-diff">')
    assert "changed" in html
