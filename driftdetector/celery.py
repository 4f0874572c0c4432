"""The Celery application: tenant-aware tasks, named queues, the database beat scheduler.

Tasks are sent with the current schema in the ``_schema_name`` header
(tenant-schemas-celery) and run with the connection switched to that schema, so a task
takes ids and never a model instance. The tenant's PeriodicTask carries the same header.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftdetector.settings")

app = CeleryApp("driftdetector")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_log_context(task: Any = None, **_: Any) -> None:
    from driftdetector.logging import request_id_var, tenant_var

    headers = getattr(task.request, "headers", None) or {}
    schema = headers.get("_schema_name") or task.request.get("_schema_name") or "public"
    tenant_var.set(schema)
    request_id_var.set(task.request.id or "-")


@task_postrun.connect
def _clear_task_log_context(**_: Any) -> None:
    from driftdetector.logging import request_id_var, tenant_var

    tenant_var.set("-")
    request_id_var.set("-")
