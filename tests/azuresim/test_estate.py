"""Seeded estates: determinism, variety, realistic shapes, scale."""

from __future__ import annotations

import json

from azuresim.estate import ByteBudget, Estate, canonical, merge_patch
from azuresim.shapes.naming import identity
from azuresim.tenants import TenantSpec
from tests.azuresim.helpers import UNION, every_row, graph_client, run_query

SPEC = {"name": "Fabrikam", "tenant_id": "5f0c6d2e-8a43-4b1e-9d7a-2c3b4a5d6e7f", "resources": 400}


def _dump(estate: Estate) -> list[str]:
    return [canonical(estate.row(key)) for key in estate.sorted_keys()]


def test_same_seed_same_estate_different_seed_different():
    first = Estate(TenantSpec.from_dict({**SPEC, "seed": 7}), ByteBudget(0))
    again = Estate(TenantSpec.from_dict({**SPEC, "seed": 7}), ByteBudget(0))
    other = Estate(TenantSpec.from_dict({**SPEC, "seed": 8}), ByteBudget(0))
    assert _dump(first) == _dump(again)
    assert first.sorted_keys() != other.sorted_keys()
    assert _dump(first) != _dump(other)


def test_index_ids_match_generated_bodies():
    estate = Estate(TenantSpec.from_dict({**SPEC, "seed": 3}))
    for key in estate.sorted_keys():
        assert estate.row(key)["id"].lower() == key
    meta = estate.meta(estate.sorted_keys()[0])
    assert meta is not None and meta.source[0] in ("g", "s", "r", "t", "v")
    assert identity  # the single source of truth for ids, used by index and builders


def test_estate_through_graph_has_many_types_and_real_shapes(sim, make_tenant):
    tenant = make_tenant(subscriptions=2, resources=200)
    rows = every_row(graph_client(sim, tenant), tenant["subscription_ids"])
    types = {row["type"] for row in rows}
    assert len(types) >= 15, types
    assert {
        "microsoft.resources/subscriptions",
        "microsoft.resources/subscriptions/resourcegroups",
        "microsoft.authorization/roleassignments",
        "microsoft.authorization/policyassignments",
    } <= types

    by_type = {row["type"]: row for row in rows}
    nsg = by_type["microsoft.network/networksecuritygroups"]
    rule = nsg["properties"]["securityRules"][0]
    assert {
        "access",
        "direction",
        "sourceAddressPrefix",
        "destinationPortRange",
        "priority",
    } <= set(rule["properties"])
    assert nsg["etag"].startswith('W/"') and nsg["properties"]["resourceGuid"]
    assert by_type["microsoft.network/virtualnetworks"]["properties"]["subnets"]
    vault = by_type["microsoft.keyvault/vaults"]["properties"]
    assert "enableSoftDelete" in vault
    assert vault.get("enablePurgeProtection", True) is True, "Azure never returns false"
    role = by_type["microsoft.authorization/roleassignments"]["properties"]
    assert role["roleDefinitionId"].rsplit("/", 1)[-1] in {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    }

    ids = [row["id"] for row in rows]
    assert any("/resourceGroups/" in i for i in ids) and any("/resourcegroups/" in i for i in ids)
    assert any(i != i.lower() and "RG-LEGACY" in i for i in ids)
    text = json.dumps(rows, ensure_ascii=False)
    assert any(ord(ch) > 127 for ch in text)


def test_large_tenant_is_indexed_lazily_and_pages(sim, make_tenant):
    tenant = make_tenant(subscriptions=4, resources=50_000)
    estate = sim.state.estate(tenant["tenant_id"])
    assert estate._keys is None  # nothing generated at registration
    page = run_query(
        graph_client(sim, tenant), UNION + " | order by id asc", tenant["subscription_ids"]
    )
    assert page.count == 1000 and page.skip_token
    in_tables = [
        k for k in estate.sorted_keys() if estate.meta(k).table in UNION.split(" | union ")
    ]
    assert page.total_records == len(in_tables) > 40_000
    assert len(estate._json) <= 1000  # only the bodies served were built


def test_hundred_small_tenants_register_without_building(sim, sim_client, make_tenant):
    tenants = [make_tenant(resources=1000, subscriptions=1) for _ in range(100)]
    assert all(sim.state.estate(t["tenant_id"])._keys is None for t in tenants)
    assert len(sim_client.list_tenants()) >= 100


def test_merge_patch_semantics():
    target = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}
    patched = merge_patch(target, {"b": {"c": None, "e": 4}, "l": [3], "n": "x"})
    assert patched == {"a": 1, "b": {"d": 3, "e": 4}, "l": [3], "n": "x"}
    assert target["b"] == {"c": 2, "d": 3}


def test_key_vault_purge_protection_is_true_or_absent_never_false():
    """Azure refuses enablePurgeProtection=false (and cannot turn it off again)."""
    import random

    from azuresim.shapes import data
    from azuresim.shapes.common import GenContext

    seen = set()
    for seed in range(40):
        ctx = GenContext(random.Random(seed), "t", "s", "rg", "westeurope", 7, 0, "tok")
        seen.add(data.key_vault(ctx)["properties"].get("enablePurgeProtection", "absent"))
    assert seen == {True, "absent"}
