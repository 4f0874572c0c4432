"""Two detection passes of one tenant never overlap, and neither is lost: the task that
finds another pass running comes back later, ``manage.py detect_drift`` waits."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from drift import services, tasks
from drift.locks import DetectionAlreadyRunning, TenantDetectionLock
from drift.models import DriftReport
from tests.factories import PollRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The tasks sent to the broker (name, kwargs, queue, countdown, schema header)."""
    from driftdetector.celery import app

    messages = []

    def send_task(name, **kw):
        messages.append(
            (name, kw["kwargs"], kw["queue"], kw["countdown"], kw["headers"]["_schema_name"])
        )

    monkeypatch.setattr(app, "send_task", send_task)
    return messages


def _reports(tenant):
    connection.set_tenant(tenant)
    try:
        return DriftReport.objects.count()
    finally:
        connection.set_schema_to_public()


def test_a_task_meeting_a_running_pass_of_its_tenant_comes_back_later(
    tenant_a, tenant_b, sent, settings, django_capture_on_commit_callbacks
):
    settings.DRIFT_DEFER_SECONDS = 7.5
    connection.set_tenant(tenant_a)
    try:
        poll_run = PollRunFactory(status="succeeded").pk
    finally:
        connection.set_schema_to_public()
    with (
        TenantDetectionLock(tenant_a.schema_name),
        django_capture_on_commit_callbacks(execute=True),
    ):
        connection.set_tenant(tenant_a)
        try:
            deferred = tasks.detect_drift.run(poll_run_id=poll_run)
        finally:
            connection.set_schema_to_public()
        connection.set_tenant(tenant_b)  # another tenant's pass is not held up
        try:
            other = tasks.detect_drift.run()
        finally:
            connection.set_schema_to_public()
    assert deferred == {"tenant": tenant_a.slug, "deferred": "another detection pass is running"}
    assert _reports(tenant_a) == 0
    assert "report" in other and _reports(tenant_b) == 1
    detect = [m for m in sent if m[0] == tasks.DETECT_TASK]
    assert detect == [
        (tasks.DETECT_TASK, {"poll_run_id": poll_run}, "drift", 7.5, tenant_a.schema_name)
    ]

    connection.set_tenant(tenant_a)  # the deferred task, once the other pass is done
    try:
        done = tasks.detect_drift.run(poll_run_id=poll_run)
    finally:
        connection.set_schema_to_public()
    assert "report" in done and _reports(tenant_a) == 1
    with TenantDetectionLock(tenant_a.schema_name):  # and it let go of the lock
        pass


def test_a_pass_that_fails_lets_go_of_its_tenants_lock(tenant_a, monkeypatch):
    def broken(tenant, **_):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "run_detection", broken)
    connection.set_tenant(tenant_a)
    try:
        with pytest.raises(RuntimeError):
            services.run_exclusive_detection(tenant_a)
    finally:
        connection.set_schema_to_public()
    with TenantDetectionLock(tenant_a.schema_name), pytest.raises(DetectionAlreadyRunning):
        TenantDetectionLock(tenant_a.schema_name).__enter__()


def test_the_command_waits_for_a_running_pass_then_runs_its_own(tenant_a, settings):
    settings.DRIFT_TASK_TIME_LIMIT = 10
    taken = threading.Event()

    def other_pass():
        with TenantDetectionLock(tenant_a.schema_name):
            taken.set()
            time.sleep(0.3)

    holder = threading.Thread(target=other_pass)
    holder.start()
    assert taken.wait(5)
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit) as exit_code:
            call_command("detect_drift", tenant=tenant_a.slug)
    finally:
        holder.join()
    assert exit_code.value.code == 0
    assert time.monotonic() - started >= 0.2  # it waited for the other pass
    assert _reports(tenant_a) == 1


def test_the_command_gives_up_after_a_pass_may_run_and_says_so(tenant_a, settings, capsys):
    settings.DRIFT_TASK_TIME_LIMIT = 0.2
    with TenantDetectionLock(tenant_a.schema_name), pytest.raises(SystemExit) as exit_code:
        call_command("detect_drift", tenant=tenant_a.slug)
    assert exit_code.value.code == 2
    assert "already running after waiting 0.2 s" in capsys.readouterr().err
    assert _reports(tenant_a) == 0
