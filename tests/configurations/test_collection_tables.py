"""Collection per Resource Graph table: what is stored, completeness and tombstones per
table, and subscriptions that are not Enabled."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import tenant_context

from configurations.models import Configuration, PollRun

pytestmark = pytest.mark.django_db


def stored(tenant, **filters) -> list[Configuration]:
    with tenant_context(tenant):
        return list(Configuration.objects.filter(**filters))


def present_types(tenant) -> set[str]:
    return {c.resource_type for c in stored(tenant, deleted_at__isnull=True)}


def first_of(tenant, type_name: str, **filters) -> Configuration:
    rows = stored(tenant, resource_type=type_name, deleted_at__isnull=True, **filters)
    assert rows, f"no stored {type_name}"
    return rows[0]


def test_only_assignments_custom_roles_and_exemptions_are_stored(
    tenant_a, azure_tenant, collect, sim_client
):
    azure_tenant(tenant_a, resources=60)
    sim_client.set_policy_evaluation(1)
    try:
        first = collect(tenant_a)
        time.sleep(1.1)  # the policy states are re-evaluated in between
        second = collect(tenant_a)
    finally:
        sim_client.set_policy_evaluation(60)
    assert first.status == second.status == "succeeded", (first.error, second.error)
    types = present_types(tenant_a)
    assert {
        "microsoft.authorization/roleassignments",
        "microsoft.authorization/roledefinitions",
        "microsoft.authorization/policyassignments",
        "microsoft.authorization/policyexemptions",
    } <= types
    assert not types & {
        "microsoft.authorization/classicadministrators",
        "microsoft.authorization/policydefinitions",
        "microsoft.authorization/policysetdefinitions",
        "microsoft.policyinsights/policystates",
    }
    roles = stored(tenant_a, resource_type="microsoft.authorization/roledefinitions")
    assert roles and all(r.config_data["properties"]["type"] == "customrole" for r in roles)
    assert (second.created, second.updated, second.deleted) == (0, 0, 0), "no churn"
    assert second.subscription_states == dict.fromkeys(second.subscriptions_complete, "Enabled")


def test_a_failed_table_keeps_its_rows_and_the_others_are_still_reconciled(
    tenant_a, azure_tenant, collect, sim_client
):
    spec = azure_tenant(tenant_a, resources=80, subscriptions=1)
    assert collect(tenant_a).status == "succeeded"
    assignment = first_of(tenant_a, "microsoft.authorization/roleassignments")
    vault = first_of(tenant_a, "microsoft.keyvault/vaults")
    sim_client.delete_resource(assignment.resource_id)
    sim_client.delete_resource(vault.resource_id)
    fault = sim_client.add_fault(
        status=503, tenant_id=spec["tenant_id"], table="authorizationresources", count=None
    )

    broken = collect(tenant_a)

    assert broken.status == "partial"
    assert "authorizationresources" in broken.error and "503" in broken.error
    assert broken.subscriptions_incomplete == spec["subscription_ids"]
    assert stored(tenant_a, pk=assignment.pk)[0].deleted_at is None, "its table failed"
    assert stored(tenant_a, pk=vault.pk)[0].deleted_at is not None, "resources was complete"
    assert broken.deleted == 1

    sim_client.remove_fault(fault)
    healed = collect(tenant_a)
    assert healed.status == "succeeded" and healed.deleted == 1
    assert stored(tenant_a, pk=assignment.pk)[0].deleted_at is not None


def test_a_refused_query_fails_the_pass_with_azures_reason(
    tenant_a, azure_tenant, collect, monkeypatch
):
    """Were a collection query refused (400), the pass says why and tombstones nothing."""
    from configurations import services
    from driftdetector.azure.kqlquery import TableQuery

    azure_tenant(tenant_a, resources=40)
    assert collect(tenant_a).status == "succeeded"
    old = TableQuery(
        "resources",
        "resources | union resourcecontainers, authorizationresources, policyresources"
        " | order by id asc",
    )
    monkeypatch.setattr(services, "COLLECTION_QUERIES", (old,))
    real = services.iter_resource_pages
    monkeypatch.setattr(
        services,
        "iter_resource_pages",
        lambda *a, **kw: real(*a, queries=(old,), **kw),
    )
    run = collect(tenant_a)
    assert run.status == "failed"
    assert "400" in run.error and "UnsupportedUnionUsage" in run.error, run.error
    assert run.deleted == 0
    assert not stored(tenant_a, deleted_at__isnull=False)


def test_disabled_and_deleted_subscriptions_are_not_tombstoned_for_absence(
    tenant_a, azure_tenant, collect, sim_client
):
    spec = azure_tenant(tenant_a, resources=120, subscriptions=3)
    healthy, sleepy, gone = spec["subscription_ids"]
    assert collect(tenant_a).status == "succeeded"
    in_sleepy = first_of(tenant_a, "microsoft.keyvault/vaults", subscription_id=sleepy)
    in_healthy = first_of(tenant_a, "microsoft.keyvault/vaults", subscription_id=healthy)
    gone_rows = len(stored(tenant_a, subscription_id=gone, deleted_at__isnull=True))
    sim_client.set_subscription_state(spec["tenant_id"], sleepy, "Disabled")
    sim_client.set_subscription_state(spec["tenant_id"], gone, "Deleted")
    sim_client.set_subscription_state(spec["tenant_id"], healthy, "PastDue")
    sim_client.delete_resource(in_sleepy.resource_id)
    sim_client.delete_resource(in_healthy.resource_id)

    run = collect(tenant_a)

    assert run.status == "succeeded", run.error
    assert run.subscription_states == {healthy: "PastDue", sleepy: "Disabled", gone: "Deleted"}
    assert gone not in run.subscriptions_complete + run.subscriptions_incomplete, "not read"
    assert stored(tenant_a, pk=in_sleepy.pk)[0].deleted_at is None, "Disabled: absence is no proof"
    assert len(stored(tenant_a, subscription_id=gone, deleted_at__isnull=True)) == gone_rows
    assert stored(tenant_a, pk=in_healthy.pk)[0].deleted_at is not None, "PastDue reads normally"
    assert run.deleted == 1
    with tenant_context(tenant_a):
        assert PollRun.objects.first().subscription_states[sleepy] == "Disabled"
