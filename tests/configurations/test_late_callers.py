"""Callers of changes whose Activity Log events arrive after the pass that saw the change."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from configurations.late_callers import fill_late_callers
from configurations.models import Configuration, ConfigurationHistory
from configurations.services import open_connection
from drift.models import DriftFinding

pytestmark = pytest.mark.django_db

LAG = 1.5


@pytest.fixture
def lagging(sim_client):
    """Events queryable only LAG seconds after they happen, as in Azure."""
    sim_client.set_activity_lag(LAG)
    yield
    sim_client.set_activity_lag(0)


def resource_of(tenant, type_name: str) -> Configuration:
    with tenant_context(tenant):
        return Configuration.objects.filter(resource_type=type_name, deleted_at__isnull=True)[0]


def change_of(tenant, run) -> ConfigurationHistory:
    with tenant_context(tenant):
        return ConfigurationHistory.objects.select_related("configuration").get(poll_run=run)


def test_a_change_seen_before_its_event_is_unknown_then_filled_by_the_next_pass(
    tenant_a, azure_tenant, collect, sim_client, lagging
):
    azure_tenant(tenant_a, subscriptions=1)
    collect(tenant_a)
    nsg = resource_of(tenant_a, "microsoft.network/networksecuritygroups")
    sim_client.modify_resource(nsg.resource_id, {"tags": {"x": "1"}}, caller="late@contoso.com")

    changed = collect(tenant_a)
    assert change_of(tenant_a, changed).changed_by == "unknown", "the event is not queryable yet"

    with tenant_context(tenant_a):  # what detection made of it: drift by "unknown"
        finding_at = change_of(tenant_a, changed).changed_at
        finding = DriftFinding.objects.create(
            resource_id=nsg.resource_id,
            resource_type=nsg.resource_type,
            kind="changed",
            path="tags.x",
            severity="low",
            matched_rule="test",
            first_seen=finding_at,
            last_seen=finding_at,
        )
        older = DriftFinding.objects.create(
            resource_id=nsg.resource_id,
            resource_type=nsg.resource_type,
            kind="changed",
            path="tags.older",
            severity="low",
            matched_rule="test",
            first_seen=finding_at - timedelta(hours=1),
            last_seen=finding_at,
        )

    time.sleep(LAG + 0.3)
    quiet = collect(tenant_a)
    assert quiet.updated == 0
    assert change_of(tenant_a, changed).changed_by == "late@contoso.com"
    with tenant_context(tenant_a):
        finding.refresh_from_db()
        older.refresh_from_db()
    assert finding.changed_by == "late@contoso.com"
    assert older.changed_by == "unknown", "a finding from an earlier change is not its"


def test_a_late_delete_is_attributed_and_a_list_keys_after_a_write_is_not_blamed(
    tenant_a, azure_tenant, collect, sim_client, lagging
):
    azure_tenant(tenant_a, subscriptions=1, resources=150)
    collect(tenant_a)
    storage = resource_of(tenant_a, "microsoft.storage/storageaccounts")
    nsg = resource_of(tenant_a, "microsoft.network/networksecuritygroups")
    sim_client.modify_resource(
        storage.resource_id, {"tags": {"owner": "late-callers-test"}}, caller="w@x.com"
    )
    sim_client.invoke_action(storage.resource_id, "listKeys", caller="lister@x.com")
    sim_client.fail_write(storage.resource_id, caller="refused@x.com")
    sim_client.delete_resource(nsg.resource_id, caller="deleter@x.com")
    run = collect(tenant_a)
    assert (run.updated, run.deleted) == (1, 1)

    time.sleep(LAG + 0.3)
    with tenant_context(tenant_a):
        filled = fill_late_callers(conn=open_connection(tenant_a), now=timezone.now())
        rows = dict(
            ConfigurationHistory.objects.filter(poll_run=run).values_list(
                "configuration__resource_id", "changed_by"
            )
        )
        again = fill_late_callers(conn=open_connection(tenant_a), now=timezone.now())
    assert filled == 2 and again == 0, "idempotent: named rows are left alone"
    assert rows == {storage.resource_id: "w@x.com", nsg.resource_id: "deleter@x.com"}


def test_rows_outside_the_window_or_without_an_event_stay_unknown(
    tenant_a, azure_tenant, collect, sim_client, settings
):
    settings.ACTIVITY_LATE_CALLER_WINDOW_HOURS = 2
    azure_tenant(tenant_a, subscriptions=1)
    collect(tenant_a)
    nsg = resource_of(tenant_a, "microsoft.network/networksecuritygroups")
    sim_client.modify_resource(nsg.resource_id, {"tags": {"x": "2"}}, caller="old@contoso.com")
    run = collect(tenant_a)
    with tenant_context(tenant_a):
        row = ConfigurationHistory.objects.get(poll_run=run)
        # As if the pass had run three hours ago and its event never came in.
        ConfigurationHistory.objects.filter(pk=row.pk).update(
            changed_by="unknown", changed_at=row.changed_at - timedelta(hours=3)
        )
        ConfigurationHistory.objects.filter(configuration=row.configuration_id).exclude(
            pk=row.pk
        ).update(changed_at=row.changed_at - timedelta(hours=4))
        conn = open_connection(tenant_a)
        assert fill_late_callers(conn=conn, now=timezone.now()) == 0
        settings.ACTIVITY_LATE_CALLER_WINDOW_HOURS = 24
        # In the window now, but the only event is newer than the change: not its author.
        assert fill_late_callers(conn=conn, now=timezone.now()) == 0
        assert ConfigurationHistory.objects.get(pk=row.pk).changed_by == "unknown"
