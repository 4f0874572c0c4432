"""How the stages are wired: collect -> detect -> notify, in one place.

A stage publishes that it finished for a tenant (``publish("collection_finished", ...)``)
and never imports the stage after it; this table says who listens. Every task of the
pipeline is sent the same way (``enqueue``): by name, with ids only, to its queue, with
the tenant schema in the header, once the caller's transaction commits.

    collection_finished (configurations) -> drift.tasks.detect_drift        [succeeded passes]
                                         -> notifications.tasks.evaluate_poll_run
    detection_finished  (drift task, manage.py detect_drift)
                                         -> notifications.tasks.evaluate_report
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

Facts = dict[str, Any]


@dataclass(frozen=True)
class Subscriber:
    """A task that runs when a stage finishes (if ``when`` says so), given ``args`` of the facts."""

    task: str
    queue: str
    args: Callable[[Facts], dict[str, Any]]
    when: Callable[[Facts], bool] = lambda facts: True


ROUTES: dict[str, tuple[Subscriber, ...]] = {
    "collection_finished": (
        Subscriber(
            "drift.tasks.detect_drift",
            "drift",
            args=lambda f: {"poll_run_id": f["poll_run_id"]},
            when=lambda f: f["status"] == "succeeded",
        ),
        Subscriber(
            "notifications.tasks.evaluate_poll_run",
            "notify",
            args=lambda f: {"poll_run_id": f["poll_run_id"]},
        ),
    ),
    "detection_finished": (
        Subscriber(
            "notifications.tasks.evaluate_report",
            "notify",
            args=lambda f: {"report_id": f["report_id"]},
        ),
    ),
}


def enqueue(
    task: str,
    *,
    schema_name: str,
    queue: str,
    kwargs: dict[str, Any],
    countdown: float | None = None,
) -> None:
    """Send ``task`` by name to ``queue`` in ``schema_name`` once the transaction commits."""
    from driftdetector.celery import app

    def send() -> None:
        app.send_task(
            task,
            kwargs=kwargs,
            headers={"_schema_name": schema_name},
            queue=queue,
            countdown=countdown,
        )

    transaction.on_commit(send)


def publish(stage: str, *, schema_name: str, **facts: Any) -> None:
    """Announce that ``stage`` finished for a tenant; its subscribers' tasks are queued."""
    for subscriber in ROUTES[stage]:
        if subscriber.when(facts):
            enqueue(
                subscriber.task,
                schema_name=schema_name,
                queue=subscriber.queue,
                kwargs=subscriber.args(facts),
            )
