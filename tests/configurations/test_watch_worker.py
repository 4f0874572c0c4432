"""Through a real Celery beat and worker: the watch sweep finds a change in the simulator's
resourcechanges table and it becomes an open finding with no full pass in between."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import tenant_context

from configurations.models import Configuration, PollRun
from tenants import services as tenant_services
from tests.conftest import start_celery

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def watched_tenant(django_db_blocker, committed_sim_tenant):
    """A committed tenant on the simulator with a 1 s watch; its full-pass PeriodicTask is
    disabled, so only the watch can see a change."""
    tenant, _ = committed_sim_tenant(
        "watch",
        resources=60,
        polling_settings={"enabled": True, "interval_minutes": 60, "watch_interval_seconds": 1},
    )
    with django_db_blocker.unblock():
        PeriodicTask.objects.filter(name=tenant_services.polling_task_name(tenant)).update(
            enabled=False
        )
    return tenant


def test_a_change_becomes_a_finding_through_beat_and_worker_without_a_full_pass(
    watched_tenant, django_db_blocker, sim, sim_client, collect, tmp_path
):
    from drift.models import DriftFinding
    from drift.services import run_detection

    tenant = watched_tenant
    with django_db_blocker.unblock():
        full = collect(tenant)
        with tenant_context(tenant):
            run_detection(tenant)
            nsg = Configuration.objects.filter(
                resource_type="microsoft.network/networksecuritygroups"
            ).first()
    env = {
        "AZURE_AUTHORITY_HOST": sim.base_url,
        "AZURE_ARM_ENDPOINT": sim.base_url,
        "AZURE_GRAPH_ENDPOINT": sim.base_url,
        "AZURE_CA_BUNDLE": str(sim.ca_path),
        "WATCH_SWEEP_SECONDS": "1",
    }
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    worker = start_celery(
        ["worker", "-Q", "poll,drift", "--concurrency", "2", "-n", f"w-{uuid.uuid4().hex[:6]}@%h"],
        logs[0],
        **env,
    )
    beat = start_celery(
        ["beat", "--max-interval", "1", "-s", str(tmp_path / "beat-schedule")], logs[1], **env
    )
    try:
        sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
        deadline = time.monotonic() + 90
        finding = None
        while finding is None and time.monotonic() < deadline:
            with django_db_blocker.unblock(), tenant_context(tenant):
                finding = (
                    DriftFinding.objects.filter(resource_id=nsg.resource_id, status="open")
                    .select_related("last_report")
                    .first()
                )
            time.sleep(0.3)
    finally:
        _stop(beat)
        _stop(worker)
    tails = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    assert finding is not None, f"no finding within 90 s\n{tails}"
    assert finding.changed_by == "mallory@contoso.com"
    with django_db_blocker.unblock(), tenant_context(tenant):
        run = PollRun.objects.get(pk=finding.last_report.poll_run_id)
        full_passes = PollRun.objects.exclude(trigger="watch").count()
    assert run.trigger == "watch" and run.updated == 1
    assert full_passes == 1 and full.trigger == "test", "no full pass ran in between"


@pytest.mark.django_db
def test_the_watch_interval_is_a_validated_polling_setting(tenant_a):
    """(Also makes this module set up the test database when it runs on its own.)"""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        tenant_services.update_settings(
            tenant_a,
            actor="test",
            polling_settings={
                "enabled": True,
                "interval_minutes": 60,
                "watch_interval_seconds": -1,
            },
        )
    assert "watch_interval_seconds" in str(raised.value)
    version = tenant_services.update_settings(
        tenant_a,
        actor="test",
        polling_settings={"enabled": True, "interval_minutes": 60, "watch_interval_seconds": 0},
    )
    assert version.polling_settings["watch_interval_seconds"] == 0
