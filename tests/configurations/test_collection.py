"""Collection passes through the real SDKs against the simulator, into the tenant schema."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from configurations.locks import PassAlreadyRunning, TenantPassLock
from configurations.models import Configuration, ConfigurationHistory, PollRun
from tenants.models import TenantStatus

pytestmark = pytest.mark.django_db

GRAPH = r"/providers/Microsoft\.ResourceGraph/resources"


def in_schema(tenant, fn):
    with tenant_context(tenant):
        return fn()


def counts(tenant) -> dict[str, int]:
    def read():
        return {
            "present": Configuration.objects.filter(deleted_at__isnull=True).count(),
            "deleted": Configuration.objects.filter(deleted_at__isnull=False).count(),
            "history": ConfigurationHistory.objects.count(),
        }

    return in_schema(tenant, read)


def a_resource(tenant, type_prefix: str) -> Configuration:
    return in_schema(
        tenant,
        lambda: Configuration.objects.filter(
            resource_type__startswith=type_prefix, deleted_at__isnull=True
        ).first(),
    )


def test_first_pass_stores_every_resource_with_created_history(tenant_a, azure_tenant, collect):
    azure_tenant(tenant_a, resources=150)

    run = collect(tenant_a)

    assert run.status == PollRun.Status.SUCCEEDED, run.error
    assert run.seen > 150, "resources plus subscriptions, resource groups and role assignments"
    assert run.created == run.seen and run.updated == run.deleted == 0
    assert run.azure_calls >= 2 and run.pages >= 1
    state = counts(tenant_a)
    assert state == {"present": run.seen, "deleted": 0, "history": run.seen}
    types = in_schema(
        tenant_a, lambda: set(Configuration.objects.values_list("resource_type", flat=True))
    )
    assert len(types) >= 15
    assert all(t == t.lower() for t in types)
    status = TenantStatus.objects.get(tenant=tenant_a)
    assert (status.last_poll_status, status.resource_count) == ("succeeded", run.seen)


def test_steady_pass_writes_no_history(tenant_a, azure_tenant, collect):
    azure_tenant(tenant_a)
    first = collect(tenant_a)
    second = collect(tenant_a)
    assert second.status == "succeeded"
    assert (second.created, second.updated, second.deleted, second.unchanged) == (
        0,
        0,
        0,
        first.seen,
    )
    assert counts(tenant_a)["history"] == first.seen


def test_a_change_is_recorded_with_previous_and_new_config_and_the_caller(
    tenant_a, azure_tenant, collect, sim_client
):
    azure_tenant(tenant_a)
    collect(tenant_a)
    storage = a_resource(tenant_a, "microsoft.storage/storageaccounts")
    was_public = bool(storage.config_data["properties"].get("allowBlobPublicAccess"))
    sim_client.modify_resource(
        storage.resource_id,
        {"properties": {"allowBlobPublicAccess": not was_public}},
        caller="alice@contoso.com",
    )

    run = collect(tenant_a)

    assert (run.updated, run.created, run.deleted) == (1, 0, 0)
    change = in_schema(tenant_a, lambda: ConfigurationHistory.objects.get(poll_run_id=run.pk))
    assert change.change_type == "updated"
    assert change.changed_by == "alice@contoso.com"
    assert change.new_config["properties"]["allowBlobPublicAccess"] is (not was_public)
    assert bool(change.previous_config["properties"].get("allowBlobPublicAccess")) is was_public


def test_deleted_resources_are_tombstoned_and_restored_when_they_return(
    tenant_a, azure_tenant, collect, sim_client
):
    azure_tenant(tenant_a)
    collect(tenant_a)
    vault = a_resource(tenant_a, "microsoft.keyvault/vaults")
    original = sim_client.get_resource(vault.resource_id)
    sim_client.delete_resource(vault.resource_id, caller="bob@contoso.com")

    gone = collect(tenant_a)
    assert gone.deleted == 1
    tombstone = in_schema(tenant_a, lambda: Configuration.objects.get(pk=vault.pk))
    assert tombstone.deleted_at is not None, "tombstoned, never hard-deleted"

    sim_client.create_resource(original, caller="bob@contoso.com")
    back = collect(tenant_a)
    assert back.restored == 1
    change = in_schema(tenant_a, lambda: ConfigurationHistory.objects.get(poll_run_id=back.pk))
    assert change.change_type == "restored"
    assert in_schema(tenant_a, lambda: Configuration.objects.get(pk=vault.pk).deleted_at) is None


def test_throttling_429_with_retry_after_waits_then_completes(
    tenant_a, azure_tenant, collect, sim_client
):
    spec = azure_tenant(tenant_a)
    sim_client.add_fault(
        action="status",
        status=429,
        retry_after=1,
        tenant_id=spec["tenant_id"],
        path_regex=GRAPH,
        count=1,
    )
    run = collect(tenant_a)
    assert run.status == "succeeded", run.error
    assert run.throttle_waits >= 1
    assert run.throttle_wait_seconds >= 1
    assert [f for f in sim_client.list_faults() if f["status"] == 429] == [], "the 429 was served"


def test_5xx_mid_listing_makes_the_pass_partial_and_tombstones_nothing(
    tenant_a, azure_tenant, collect, sim_client
):
    spec = azure_tenant(tenant_a, resources=300, subscriptions=1)
    collect(tenant_a, page_size=50)
    victim = a_resource(tenant_a, "microsoft.network/publicipaddresses")
    sim_client.delete_resource(victim.resource_id)
    fault = sim_client.add_fault(
        action="status",
        status=503,
        tenant_id=spec["tenant_id"],
        path_regex=GRAPH,
        page=3,
        count=None,
    )

    broken = collect(tenant_a, page_size=50)

    assert broken.status == "partial"
    assert "503" in broken.error or "unavailable" in broken.error.lower(), broken.error
    assert broken.deleted == 0
    assert counts(tenant_a)["deleted"] == 0, "nothing tombstoned by an incomplete pass"
    assert TenantStatus.objects.get(tenant=tenant_a).last_poll_status == "partial"

    sim_client.remove_fault(fault)
    recovered = collect(tenant_a, page_size=50)
    assert recovered.status == "succeeded"
    assert recovered.deleted == 1
    assert (
        in_schema(tenant_a, lambda: Configuration.objects.get(pk=victim.pk).deleted_at) is not None
    )


def test_timeout_on_a_page_is_partial(tenant_a, azure_tenant, collect, sim_client):
    spec = azure_tenant(tenant_a, resources=200, subscriptions=1)
    sim_client.add_fault(
        action="delay", delay=5, tenant_id=spec["tenant_id"], path_regex=GRAPH, page=2
    )
    run = collect(tenant_a, page_size=50)
    assert run.status == "partial"
    assert run.pages >= 1
    assert "tim" in run.error.lower()


def test_malformed_json_is_a_clear_error_and_loses_nothing(
    tenant_a, azure_tenant, collect, sim_client
):
    spec = azure_tenant(tenant_a, resources=100, subscriptions=1)
    first = collect(tenant_a)
    sim_client.add_fault(
        action="malformed", tenant_id=spec["tenant_id"], path_regex=GRAPH, count=None
    )
    run = collect(tenant_a)
    assert run.status in ("failed", "partial")
    assert run.error
    assert counts(tenant_a) == {"present": first.seen, "deleted": 0, "history": first.seen}


def test_wrong_credentials_fail_the_pass_with_a_clear_error(tenant_a, azure_tenant, collect):
    azure_tenant(tenant_a)
    credential = tenant_a.azure_credential
    credential.client_secret = "wrong"
    credential.save()

    run = collect(tenant_a)

    assert run.status == "failed"
    assert "AADSTS7000215" in run.error or "secret" in run.error.lower()
    status = TenantStatus.objects.get(tenant=tenant_a)
    assert status.last_poll_status == "failed" and status.consecutive_failures == 1
    assert status.last_poll_error == run.error
    again = collect(tenant_a)
    assert again.status == "failed", "fails the same way again, no crash"
    assert TenantStatus.objects.get(tenant=tenant_a).consecutive_failures == 2


def test_a_tenant_without_credential_fails_with_instructions(tenant_a, collect):
    tenant_a.azure_credential = None
    run = collect(tenant_a)
    assert run.status == "failed"
    assert "no Azure credential" in run.error


def test_unicode_and_a_ten_megabyte_resource_are_stored(
    tenant_a, azure_tenant, collect, sim_client
):
    azure_tenant(tenant_a, resources=20, subscriptions=1)
    collect(tenant_a)
    storage = a_resource(tenant_a, "microsoft.storage/storageaccounts")
    huge_tags = {f"tag-{i:05d}-ü": "Zoë " + "x" * 1000 for i in range(10_000)}
    sim_client.modify_resource(
        storage.resource_id, {"tags": huge_tags, "properties": {"note": "Grüße 東京"}}
    )

    run = collect(tenant_a)

    assert run.status == "succeeded", run.error
    stored = in_schema(tenant_a, lambda: Configuration.objects.get(pk=storage.pk))
    assert stored.config_data["properties"]["note"] == "Grüße 東京"
    assert set(huge_tags) <= set(stored.config_data["tags"])


def test_two_passes_of_one_tenant_never_overlap(tenant_a, azure_tenant, collect):
    azure_tenant(tenant_a)
    with TenantPassLock(tenant_a.schema_name), pytest.raises(PassAlreadyRunning):
        collect(tenant_a)


def test_a_pass_left_running_is_marked_failed_by_the_next(tenant_a, azure_tenant, collect):
    from django.utils import timezone

    azure_tenant(tenant_a)
    stale = in_schema(tenant_a, lambda: PollRun.objects.create(started_at=timezone.now()))
    collect(tenant_a)
    stale = in_schema(tenant_a, lambda: PollRun.objects.get(pk=stale.pk))
    assert stale.status == "failed"
    assert "stopped before finishing" in stale.error


def test_naive_mode_finds_the_same_changes_by_diffing(tenant_a, azure_tenant, collect, sim_client):
    azure_tenant(tenant_a)
    collect(tenant_a)
    nsg = a_resource(tenant_a, "microsoft.network/networksecuritygroups")
    sim_client.modify_resource(nsg.resource_id, {"tags": {"changed": "yes"}})
    run = collect(tenant_a, hash_short_circuit=False)
    assert run.updated == 1


def test_a_volatile_only_change_writes_no_history_but_refreshes_the_raw_hash(
    tenant_a, azure_tenant, collect, sim_client
):
    azure_tenant(tenant_a)
    collect(tenant_a)
    nsg = a_resource(tenant_a, "microsoft.network/networksecuritygroups")
    sim_client.modify_resource(
        nsg.resource_id, {"etag": 'W/"moved"', "properties": {"provisioningState": "Updating"}}
    )

    run = collect(tenant_a)

    assert (run.updated, run.created, run.deleted) == (0, 0, 0)
    after = in_schema(tenant_a, lambda: Configuration.objects.get(pk=nsg.pk))
    assert after.config_hash == nsg.config_hash
    assert after.source_hash != nsg.source_hash, "next pass can skip normalising it again"
    steady = collect(tenant_a)
    assert steady.unchanged == steady.seen


def test_poll_tenant_command_prints_a_summary_and_fails_loudly(tenant_a, azure_tenant, capsys):
    from django.core.management import CommandError, call_command

    azure_tenant(tenant_a, resources=30)
    call_command("poll_tenant", tenant_a.slug)
    captured = capsys.readouterr()
    assert f"{tenant_a.slug}: succeeded" in captured.out
    assert "created" in captured.out and "Azure calls" in captured.out
    assert "resources" in captured.err, "progress bar on stderr"

    tenant_a.azure_credential.client_secret = "wrong"
    tenant_a.azure_credential.save()
    with pytest.raises(CommandError, match="1 of 1 pass"):
        call_command("poll_tenant", tenant_a.slug, "--quiet")
    assert "error:" in capsys.readouterr().out


def test_poll_tenant_command_needs_a_slug_or_all():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="slug or --all"):
        call_command("poll_tenant")
    with pytest.raises(CommandError, match="no tenant"):
        call_command("poll_tenant", "no-such-tenant")
