"""The stage wiring of driftdetector/pipeline.py: who is queued when a stage finishes."""

from __future__ import annotations

import pytest

from driftdetector import pipeline
from driftdetector.celery import app


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, **kw: calls.append((name, kw["kwargs"], kw["queue"], kw["headers"])),
    )
    return calls


@pytest.mark.django_db
def test_a_succeeded_collection_queues_detection_and_the_poll_check(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pipeline.publish("collection_finished", schema_name="t1", poll_run_id=7, status="succeeded")
    assert sent == [], "nothing leaves before the transaction commits"
    for callback in callbacks:
        callback()
    assert sent == [
        ("drift.tasks.detect_drift", {"poll_run_id": 7}, "drift", {"_schema_name": "t1"}),
        (
            "notifications.tasks.evaluate_poll_run",
            {"poll_run_id": 7},
            "notify",
            {"_schema_name": "t1"},
        ),
    ]


@pytest.mark.django_db
def test_a_failed_collection_is_not_detected_but_is_checked_for_poll_failing(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.publish("collection_finished", schema_name="t1", poll_run_id=8, status="failed")
    assert [name for name, *_ in sent] == ["notifications.tasks.evaluate_poll_run"]


@pytest.mark.django_db
def test_a_finished_detection_queues_notification(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.publish("detection_finished", schema_name="t2", report_id=3)
    assert sent == [
        ("notifications.tasks.evaluate_report", {"report_id": 3}, "notify", {"_schema_name": "t2"})
    ]


def test_every_subscriber_names_a_registered_task_on_its_routed_queue():
    from django.conf import settings

    app.loader.import_default_modules()
    for subscribers in pipeline.ROUTES.values():
        for subscriber in subscribers:
            assert subscriber.task in app.tasks, subscriber.task
            prefix = subscriber.task.rsplit(".", 1)[0] + ".*"
            assert settings.CELERY_TASK_ROUTES[prefix]["queue"] == subscriber.queue


def test_the_stages_do_not_import_each_other():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    collect = (root / "configurations" / "tasks.py").read_text()
    assert not re.search(r"\b(from|import) drift\b", collect)
    assert not re.search(r"\bnotifications\b", (root / "drift" / "tasks.py").read_text())
