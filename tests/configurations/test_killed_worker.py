"""A real Celery worker killed mid-pass: the next pass marks it failed, no duplicate history."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from configurations.models import Configuration, ConfigurationHistory, PollRun
from tenants import services
from tests.conftest import committed_wired_tenant, start_celery

ROOT = Path(__file__).resolve().parents[2]
GRAPH = r"/providers/Microsoft\.ResourceGraph/resources"

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def _read(tenant, fn):
    with tenant_context(tenant):
        return fn()


@pytest.fixture
def committed_tenant(django_db_blocker, make_tenant, sim, settings):
    """A tenant committed to the test database (a worker must see it), wired to the simulator."""
    settings.AZURE_AUTHORITY_HOST = settings.AZURE_ARM_ENDPOINT = settings.AZURE_GRAPH_ENDPOINT = (
        sim.base_url
    )
    settings.AZURE_CA_BUNDLE = str(sim.ca_path)
    slug = f"killed-{uuid.uuid4().hex[:6]}"
    tenant_id = str(uuid.uuid4())
    simulated = make_tenant(tenant_id=tenant_id, resources=400, subscriptions=1)
    with committed_wired_tenant(django_db_blocker, simulated, slug, page_size=50) as tenant:
        yield tenant, simulated


def test_killed_worker_pass_is_failed_by_the_next_and_history_has_no_duplicates(
    committed_tenant, django_db_blocker, sim, sim_client, collect, tmp_path
):
    tenant, simulated = committed_tenant
    sim_client.add_fault(
        action="delay",
        delay=30,
        tenant_id=simulated["tenant_id"],
        path_regex=GRAPH,
        page=4,
        count=None,
    )
    worker = start_celery(
        ["worker", "-Q", "poll", "--concurrency", "1", "-n", f"killme-{uuid.uuid4().hex[:6]}@%h"],
        tmp_path / "worker.log",
        AZURE_AUTHORITY_HOST=sim.base_url,
        AZURE_ARM_ENDPOINT=sim.base_url,
        AZURE_GRAPH_ENDPOINT=sim.base_url,
        AZURE_CA_BUNDLE=str(sim.ca_path),
        POLL_LOCK_TTL_SECONDS="3",
        AZURE_READ_TIMEOUT="60",
    )
    log = tmp_path / "worker.log"
    try:
        with django_db_blocker.unblock():
            services.request_poll(tenant, trigger="test")  # outside a transaction: sent at once
        deadline = time.monotonic() + 60
        running = None
        with django_db_blocker.unblock():
            while time.monotonic() < deadline:
                running = _read(
                    tenant, lambda: PollRun.objects.filter(status="running", pages__gte=3).first()
                )
                if running:
                    break
                time.sleep(0.2)
        assert running is not None, log.read_text()[-3000:]
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    sim_client.clear_faults()
    time.sleep(3.5)  # the dead pass's lock expires

    with django_db_blocker.unblock():
        rerun = collect(tenant)
        dead = _read(tenant, lambda: PollRun.objects.get(pk=running.pk))
        configurations = _read(tenant, Configuration.objects.count)
        created_rows = _read(
            tenant, lambda: ConfigurationHistory.objects.filter(change_type="created").count()
        )
        per_resource = _read(
            tenant,
            lambda: set(
                ConfigurationHistory.objects.values_list("configuration_id", flat=True).distinct()
            ),
        )
    assert dead.status == "failed" and "stopped before finishing" in dead.error
    assert dead.pages == 3, "pages committed before the kill are kept"
    assert rerun.status == "succeeded", rerun.error
    assert rerun.created == configurations - 150, "the first 3 pages (150 rows) were already stored"
    assert created_rows == configurations, "exactly one 'created' row per resource"
    assert len(per_resource) == configurations
