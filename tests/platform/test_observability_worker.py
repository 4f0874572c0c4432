"""Through a real Celery worker: a request id set on an API call reaches Azure (the
simulator's recorded x-ms-client-request-id) and the task's log records, and the worker's
series reach Prometheus both through its own port and through the web's /metrics over
the shared multiprocess directory (as in ``make run``)."""

from __future__ import annotations

import socket
import urllib.request
import uuid

import pytest
from django.db import connection
from django.test import Client

from accounts.services import create_api_token
from configurations.models import PollRun
from tests.conftest import committed_wired_tenant, start_celery
from tests.factories import UserFactory
from tests.notifications.test_worker import _stop, _wait
from tests.platform.metrics_helpers import metric_names_used, sample_names, value

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def committed_tenant(django_db_blocker, make_tenant):
    """A committed tenant wired to a simulated one (never polled), and an MSP admin's token."""
    simulated = make_tenant(tenant_id=str(uuid.uuid4()), resources=40, subscriptions=1)
    with committed_wired_tenant(django_db_blocker, simulated, f"obs-{uuid.uuid4().hex[:6]}") as t:
        with django_db_blocker.unblock():
            admin = UserFactory(role_name="MSP Admin", is_superuser=True)
            _, token = create_api_token(user=admin, name="observability test")
        yield t, token
        with django_db_blocker.unblock():
            admin.delete()


def _finished_run(tenant) -> PollRun | None:
    connection.set_tenant(tenant)
    try:
        return PollRun.objects.exclude(status=PollRun.Status.RUNNING).first()
    finally:
        connection.set_schema_to_public()


def test_request_id_reaches_azure_and_the_task_log_and_worker_series_reach_metrics(
    committed_tenant, django_db_blocker, sim, sim_client, tmp_path, monkeypatch
):
    tenant, token = committed_tenant
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    port = _free_port()
    log = tmp_path / "worker.log"
    name = f"obs-{uuid.uuid4().hex[:6]}@%h"
    worker = start_celery(
        ["worker", "-Q", "poll,drift,notify,audit", "-c", "1", "-n", name, "--loglevel", "INFO"],
        log,
        AZURE_AUTHORITY_HOST=sim.base_url,
        AZURE_ARM_ENDPOINT=sim.base_url,
        AZURE_GRAPH_ENDPOINT=sim.base_url,
        AZURE_CA_BUNDLE=str(sim.ca_path),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        CELERY_METRICS_PORT=str(port),
        CELERY_METRICS_ADDR="127.0.0.1",
    )
    request_id = str(uuid.uuid4())
    try:
        with django_db_blocker.unblock():
            response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
                f"/api/v1/tenants/{tenant.pk}/poll-now/", HTTP_X_REQUEST_ID=request_id
            )
            assert response.status_code == 202, response.content
            assert response["X-Request-ID"] == request_id
            run = _wait(lambda: _finished_run(tenant), 120, "the collection pass", [log])

        def worker_text() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.read().decode()

        poll_task = {"task": "configurations.tasks.poll_tenant", "outcome": "SUCCESS"}
        _wait(
            lambda: value(worker_text(), "driftdetector_celery_tasks_total", **poll_task) >= 1,
            30,
            "the worker's task series",
            [log],
        )
        # The task the pass sends on (collection -> detection) carries the request id too.
        _wait(
            lambda: any(
                f"[{request_id} " in line and "drift.tasks.detect_drift" in line
                for line in log.read_text().splitlines()
                if "succeeded" in line
            ),
            60,
            "the detection task's log line with the request id",
            [log],
        )
        own_port = worker_text()
    finally:
        _stop(worker)

    assert run.status == PollRun.Status.SUCCEEDED, run.error
    assert request_id in sim_client.client_request_ids(), "Azure saw the API call's request id"
    lines = log.read_text().splitlines()
    assert any(
        f"[{request_id} {tenant.schema_name}]" in line and "collection pass" in line
        for line in lines
    ), "\n".join(lines[-30:])
    assert value(own_port, "driftdetector_collection_passes_total", status="succeeded") >= 1
    assert value(own_port, "driftdetector_azure_requests_total", api="graph") >= 1

    # make run: the web's /metrics reads the same directory as the worker writes.
    from driftdetector.metrics_scrape import scrape

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    with django_db_blocker.unblock():
        web = scrape().decode()
    assert value(web, "driftdetector_celery_tasks_total", **poll_task) >= 1
    assert value(web, "driftdetector_open_findings", tenant=tenant.slug, severity="high") >= 0
    missing = metric_names_used() - sample_names(web)
    assert all(name.startswith("django_http_") for name in missing), missing
