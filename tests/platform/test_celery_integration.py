"""A real Celery worker and beat (subprocesses, Redis broker): tasks run in the right schema."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from auditlog.models import SigningLog
from auditlog.services import record_platform_event_later
from tests.conftest import start_celery

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def celery_processes(session_tenants, tmp_path_factory) -> Iterator[dict[str, Path]]:
    """A worker on every queue and a beat using the database scheduler, against the test DB."""
    logs = tmp_path_factory.mktemp("celery")
    worker = start_celery(
        [
            "worker",
            "-Q",
            "default,poll,drift,notify,audit",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-n",
            f"test-{uuid.uuid4().hex[:6]}@%h",
        ],
        logs / "worker.log",
    )
    beat = start_celery(["beat", "--loglevel", "INFO", "--max-interval", "1"], logs / "beat.log")
    yield {"worker": logs / "worker.log", "beat": logs / "beat.log"}
    _stop(beat)
    _stop(worker)


def wait_for_row(tenant, log_id: str, logs: dict[str, Path], timeout: float = 60) -> SigningLog:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.set_tenant(tenant)
        try:
            row = SigningLog.objects.filter(log_id=log_id).first()
        finally:
            connection.set_schema_to_public()
        if row is not None:
            return row
        time.sleep(0.25)
    details = "\n".join(f"--- {name}\n{path.read_text()[-3000:]}" for name, path in logs.items())
    raise AssertionError(
        f"no SigningLog {log_id} in {tenant.schema_name} after {timeout}s\n{details}"
    )


def rows_in(tenant, **filters) -> int:
    connection.set_tenant(tenant)
    try:
        return SigningLog.objects.filter(**filters).count()
    finally:
        connection.set_schema_to_public()


@pytest.mark.django_db
def test_task_enqueued_on_commit_runs_in_the_named_tenant_schema(
    celery_processes, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        log_id = record_platform_event_later(
            tenant_a.schema_name, actor="alice", action="settings.changed"
        )
    assert len(callbacks) == 1, "nothing is sent before the transaction commits"
    callbacks[0]()

    row = wait_for_row(tenant_a, log_id, celery_processes)
    assert (row.actor, row.action, row.source) == ("alice", "settings.changed", "platform")
    assert rows_in(tenant_b, log_id=log_id) == 0


@pytest.fixture
def committed_periodic_task(django_db_blocker, session_tenants) -> Iterator[str]:
    """A PeriodicTask committed for beat to see (every second, tenant B's schema); removed after."""
    log_id = f"beat-{uuid.uuid4().hex}"
    with django_db_blocker.unblock():
        every_second, _ = IntervalSchedule.objects.get_or_create(
            every=1, period=IntervalSchedule.SECONDS
        )
        task = PeriodicTask.objects.create(
            name=f"test-beat-{log_id}",
            task="auditlog.tasks.record_platform_event",
            interval=every_second,
            queue="audit",
            headers=json.dumps({"_schema_name": session_tenants["b"].schema_name}),
            kwargs=json.dumps({"log_id": log_id, "actor": "beat", "action": "beat.tick"}),
        )
    yield log_id
    with django_db_blocker.unblock():
        task.delete()


def test_beat_sends_periodic_task_with_its_schema_header(
    celery_processes, committed_periodic_task, session_tenants, django_db_blocker
):
    """No test transaction here: beat (another process) must see the committed PeriodicTask."""
    tenant_a, tenant_b = session_tenants["a"], session_tenants["b"]
    with django_db_blocker.unblock():
        row = wait_for_row(tenant_b, committed_periodic_task, celery_processes, timeout=90)
        assert (row.actor, row.action) == ("beat", "beat.tick")
        assert rows_in(tenant_a, log_id=committed_periodic_task) == 0
        time.sleep(2.5)
        assert rows_in(tenant_b, log_id=committed_periodic_task) == 1, "repeated ticks stay one row"
