"""The change watch through the real SDKs against the simulator's resourcechanges table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from configurations.locks import PassAlreadyRunning, TenantPassLock
from configurations.models import Configuration, ConfigurationHistory, PollRun, ResourceChange
from configurations.tasks import poll_tenant
from configurations.watch import due_watches, run_watch
from tenants.models import ChangeWatch
from tenants.services import update_settings

pytestmark = pytest.mark.django_db

GRAPH = r"/providers/Microsoft\.ResourceGraph/resources"
NSG = "microsoft.network/networksecuritygroups"


def in_schema(tenant, fn):
    with tenant_context(tenant):
        return fn()


def watch(tenant):
    with tenant_context(tenant):
        return run_watch(tenant)


def present(tenant, type_name: str, n: int = 0) -> Configuration:
    return in_schema(
        tenant,
        lambda: list(
            Configuration.objects.filter(resource_type=type_name, deleted_at__isnull=True)
        )[n],
    )


def history(tenant, resource_id: str) -> list[ConfigurationHistory]:
    return in_schema(
        tenant,
        lambda: list(
            ConfigurationHistory.objects.filter(configuration__resource_id=resource_id).order_by(
                "id"
            )
        ),
    )


def history_count(tenant) -> int:
    return in_schema(tenant, ConfigurationHistory.objects.count)


@pytest.fixture
def collected(tenant_a, azure_tenant, collect):
    """tenant_a wired to a simulated tenant and collected once by a full pass."""
    spec = azure_tenant(tenant_a, resources=60, subscriptions=1)
    run = collect(tenant_a)
    assert run.status == "succeeded", run.error
    return spec


def test_a_create_an_update_and_a_delete_arrive_in_one_watch_with_their_callers(
    tenant_a, collected, sim_client
):
    nsg = present(tenant_a, NSG)
    victim = present(tenant_a, "microsoft.network/publicipaddresses")
    new_id = (
        f"/subscriptions/{nsg.subscription_id}/resourceGroups/{nsg.resource_group}"
        "/providers/Microsoft.Storage/storageAccounts/stwatchnew01"
    )
    sim_client.create_resource(
        {"id": new_id, "type": "Microsoft.Storage/storageAccounts", "properties": {"x": 1}},
        caller={"upn": "ci@contoso.com", "client_type": "Azure CLI"},
    )
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    sim_client.delete_resource(victim.resource_id, caller="bob@contoso.com")

    outcome = watch(tenant_a)

    assert outcome.status == "applied", outcome
    assert outcome.new_changes == 3
    run = in_schema(tenant_a, lambda: PollRun.objects.get(pk=outcome.poll_run))
    assert (run.trigger, run.status) == ("watch", "succeeded")
    assert (run.created, run.updated, run.deleted) == (1, 1, 1)
    created = history(tenant_a, new_id.lower())[-1]
    assert (created.change_type, created.changed_by, created.client_type) == (
        "created",
        "ci@contoso.com",
        "Azure CLI",
    )
    updated = history(tenant_a, nsg.resource_id)[-1]
    assert (updated.change_type, updated.changed_by, updated.client_type) == (
        "updated",
        "mallory@contoso.com",
        "Azure Portal",
    )
    assert "zz-open-ssh" in str(updated.new_config)
    deleted = history(tenant_a, victim.resource_id)[-1]
    assert (deleted.change_type, deleted.changed_by) == ("deleted", "bob@contoso.com")
    assert in_schema(
        tenant_a, lambda: Configuration.objects.get(pk=victim.pk).deleted_at is not None
    )
    state = ChangeWatch.objects.get(tenant=tenant_a)
    assert state.watermark is not None and state.last_error == ""
    assert state.changes_applied == 3
    assert outcome.queries == 2, "one resourcechanges query and one resources query"


def test_the_overlap_rereads_changes_but_acts_on_each_once(tenant_a, collected, sim_client):
    nsg = present(tenant_a, NSG)
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    first = watch(tenant_a)
    before = history_count(tenant_a)

    again = watch(tenant_a)

    assert first.status == "applied"
    assert again.changes_read >= 1, "the overlap re-reads the change"
    assert (again.status, again.new_changes, again.queries) == ("idle", 0, 1)
    assert history_count(tenant_a) == before
    assert in_schema(tenant_a, ResourceChange.objects.count) == 1


def test_a_change_seen_by_a_full_pass_and_the_watch_is_written_once(
    tenant_a, collected, sim_client, collect
):
    nsg = present(tenant_a, NSG)
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    full = collect(tenant_a)
    assert full.updated == 1
    before = history_count(tenant_a)

    outcome = watch(tenant_a)

    assert outcome.new_changes == 1 and outcome.resources_read == 1
    assert outcome.status == "idle" and outcome.poll_run is None, "the hash compare: no write"
    assert history_count(tenant_a) == before
    assert in_schema(tenant_a, lambda: PollRun.objects.filter(trigger="watch").count()) == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "status", "status": 429, "retry_after": 1, "table": "resources"},
        {"action": "malformed", "table": "resources"},
        {"action": "status", "status": 503, "table": "resourcechanges"},
    ],
    ids=["resources-429", "resources-malformed-page", "changes-503"],
)
def test_a_failed_read_writes_nothing_and_the_next_watch_reads_the_change_again(
    tenant_a, collected, sim_client, settings, fault
):
    settings.AZURE_MAX_THROTTLE_WAIT = 0.5
    settings.AZURE_RETRY_TOTAL = 0
    nsg = present(tenant_a, NSG)
    watch(tenant_a)  # sets the watermark
    mark = ChangeWatch.objects.get(tenant=tenant_a).watermark
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    fault_id = sim_client.add_fault(
        tenant_id=collected["tenant_id"], path_regex=GRAPH, count=None, **fault
    )
    before = history_count(tenant_a)

    failed = watch(tenant_a)

    assert failed.status == "failed" and failed.detail, failed
    state = ChangeWatch.objects.get(tenant=tenant_a)
    assert state.watermark == mark, "the watermark does not move past unwritten changes"
    assert state.last_error
    assert history_count(tenant_a) == before
    assert in_schema(tenant_a, ResourceChange.objects.count) == 0

    sim_client.remove_fault(fault_id)
    recovered = watch(tenant_a)
    assert recovered.status == "applied", recovered
    assert history(tenant_a, nsg.resource_id)[-1].changed_by == "mallory@contoso.com"
    assert ChangeWatch.objects.get(tenant=tenant_a).last_error == ""


def test_a_malformed_change_row_is_named_and_keeps_the_watermark_while_the_rest_applies(
    tenant_a, collected, sim_client, sim
):
    nsg = present(tenant_a, NSG)
    watch(tenant_a)
    mark = ChangeWatch.objects.get(tenant=tenant_a).watermark
    bad_id = f"{nsg.resource_id}/providers/Microsoft.Resources/changes/bad-row"
    sim.state.changes.inject(
        collected["tenant_id"],
        {
            "id": bad_id,
            "subscriptionId": nsg.subscription_id,
            "properties": {
                "changeType": "Renamed",
                "changeAttributes": {"timestamp": timezone.now().isoformat()},
            },
        },
    )
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")

    outcome = watch(tenant_a)

    assert outcome.status == "applied", "the well-formed change is applied"
    assert "malformed resourcechanges row" in outcome.detail
    assert "targetResourceId" in outcome.detail and "'Renamed'" in outcome.detail
    assert bad_id.lower() in outcome.detail.lower()
    state = ChangeWatch.objects.get(tenant=tenant_a)
    assert state.watermark == mark, "the window is read again"
    assert "malformed" in state.last_error
    assert history(tenant_a, nsg.resource_id)[-1].changed_by == "mallory@contoso.com"


def test_absence_without_a_delete_change_tombstones_nothing(tenant_a, collected, sim_client, sim):
    nsg = present(tenant_a, NSG)
    watch(tenant_a)
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    # Gone from the resource table with no Delete change (yet): the watch must not conclude.
    sim.state.estate_for_resource(nsg.resource_id).delete(nsg.resource_id.lower())

    outcome = watch(tenant_a)

    assert outcome.status == "idle"
    assert "not in the resource table yet" in outcome.detail
    assert in_schema(tenant_a, lambda: Configuration.objects.get(pk=nsg.pk).deleted_at) is None
    assert in_schema(tenant_a, ResourceChange.objects.count) == 0
    assert watch(tenant_a).new_changes == 1, "the change is read again by the next watch"


def test_a_watch_never_runs_with_a_pass_of_the_same_tenant(tenant_a, collected):
    with TenantPassLock(tenant_a.schema_name):
        outcome = watch(tenant_a)
    assert outcome.status == "skipped" and "already running" in outcome.detail


def test_a_full_pass_meeting_a_watch_is_deferred_not_lost(tenant_a, collected):
    with TenantPassLock(tenant_a.schema_name, kind="watch"):
        with pytest.raises(PassAlreadyRunning) as raised:
            TenantPassLock(tenant_a.schema_name).__enter__()
        with tenant_context(tenant_a):
            result = poll_tenant.run(trigger="schedule")
    assert raised.value.holder == "watch"
    assert result == {"tenant": tenant_a.slug, "deferred": "a change watch is running"}


def test_no_watch_before_the_first_full_pass(tenant_a, azure_tenant):
    azure_tenant(tenant_a, resources=10, subscriptions=1)
    outcome = watch(tenant_a)
    assert (outcome.status, outcome.queries) == ("skipped", 0)


def test_a_full_pass_moves_the_watermark_to_its_start(tenant_a, collected, collect):
    watch(tenant_a)
    ChangeWatch.objects.filter(tenant=tenant_a).update(watermark="2020-01-01T00:00:00Z")
    run = collect(tenant_a)
    assert ChangeWatch.objects.get(tenant=tenant_a).watermark == run.started_at


def test_the_sweep_sends_due_tenants_once_at_their_interval_and_none_when_off(
    tenant_a, tenant_b, collected, azure_tenant
):
    azure_tenant(tenant_b, resources=10, subscriptions=1)
    update_settings(
        tenant_b,
        actor="test",
        polling_settings={"enabled": True, "interval_minutes": 60, "watch_interval_seconds": 0},
    )

    due = dict(due_watches())

    assert due.get(tenant_a.schema_name) == 30, "the default interval"
    assert tenant_b.schema_name not in due, "0 turns the watch off"
    assert tenant_a.schema_name not in dict(due_watches()), "claimed until its next time"
    wait = ChangeWatch.objects.get(tenant=tenant_a).next_run_at - timezone.now()
    assert timedelta(seconds=25) <= wait <= timedelta(seconds=30)
