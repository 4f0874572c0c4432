"""The Celery application: tenant-aware tasks, named queues, the database beat scheduler.

Tasks are sent with the current schema in the ``_schema_name`` header
(tenant-schemas-celery) and run with the connection switched to that schema, so a task
takes ids and never a model instance. The tenant's PeriodicTask carries the same header.
Every task sent inside a request or another task carries that request id in its
``request_id`` header: the task's log records, its Azure calls and the tasks it sends in
turn carry it too (README, "Logs and traces").

Metrics: every finished task counts by name and outcome. Prefork children write to
``PROMETHEUS_MULTIPROC_DIR`` like gunicorn's workers do; with ``CELERY_METRICS_PORT`` set
the worker's main process also serves that directory over HTTP (one container per queue
in docker-compose); in ``make run`` the web's /metrics reads the same directory.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
)
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftdetector.settings")

app = CeleryApp("driftdetector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_started: dict[str, float] = {}


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    from driftdetector.logging import request_id_var

    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _bind_task_log_context(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    from driftdetector.logging import request_id_var, tenant_var

    headers = getattr(task.request, "headers", None) or {}
    schema = headers.get("_schema_name") or task.request.get("_schema_name") or "public"
    tenant_var.set(schema)
    request_id = headers.get("request_id") or task.request.get("request_id")
    request_id_var.set(request_id or task.request.id or "-")
    if task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _clear_task_log_context(
    task: Any = None, task_id: str | None = None, state: str | None = None, **_: Any
) -> None:
    from driftdetector import metrics
    from driftdetector.logging import request_id_var, tenant_var

    started = _started.pop(task_id, None) if task_id else None
    metrics.celery_task(
        task=getattr(task, "name", "unknown"),
        outcome=state or "UNKNOWN",
        duration=time.monotonic() - started if started is not None else None,
    )
    tenant_var.set("-")
    request_id_var.set("-")


@worker_init.connect
def _serve_worker_metrics(**_: Any) -> None:
    """With CELERY_METRICS_PORT, serve this worker's processes' series for Prometheus."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port or not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry)
    # Inside its container, for the Prometheus of the compose network (never published).
    address = os.environ.get("CELERY_METRICS_ADDR", "0.0.0.0")  # noqa: S104
    start_http_server(int(port), addr=address, registry=registry)


@worker_process_shutdown.connect
def _forget_dead_process(pid: int | None = None, **_: Any) -> None:
    """A replaced prefork child's live gauges leave the multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
