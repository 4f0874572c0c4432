"""Notification tasks (queue ``notify``); tenant tasks get their schema in the message header."""

from __future__ import annotations

from typing import Any

from django.db import connection

from driftdetector.celery import app


@app.task(name="notifications.tasks.evaluate_report")
def evaluate_report(report_id: int) -> dict[str, Any]:
    """Turn a detection pass's state changes into deliveries (queued after detection commits)."""
    from notifications.services import evaluate_report as evaluate

    return {"schema": connection.schema_name, "send_now": evaluate(report_id=report_id)}


@app.task(name="notifications.tasks.evaluate_poll_run")
def evaluate_poll_run(poll_run_id: int) -> dict[str, Any]:
    """Tell poll_failing rules when collection has just failed N passes in a row."""
    from notifications.services import evaluate_poll_run as evaluate

    return {"schema": connection.schema_name, "send_now": evaluate(poll_run_id=poll_run_id)}


@app.task(name="notifications.tasks.send_delivery", ignore_result=True)
def send_delivery(delivery_id: int) -> dict[str, Any]:
    """Send one delivery if it is due and not taken; the attempt is recorded either way."""
    from notifications.services import attempt_delivery

    delivery = attempt_delivery(delivery_id=delivery_id)
    return {"delivery": delivery_id, "status": delivery.status if delivery else "not due"}


@app.task(name="notifications.tasks.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> dict[str, int]:
    """Beat task (public schema): queue every tenant's due deliveries (retries, digests,
    messages held by quiet hours, deliveries a killed worker left behind), found with one
    query over the fleet; at most once per NOTIFY_EVALUATION_SWEEP_SECONDS also re-queue
    detection reports whose evaluation was lost."""
    from collections import defaultdict

    from django.conf import settings
    from django.core.cache import cache
    from django_tenants.utils import tenant_context

    from notifications.selectors import due_deliveries_across
    from notifications.services import queue_deliveries, queue_lost_evaluations
    from tenants.selectors import customer_tenants

    tenants = {t.schema_name: t for t in customer_tenants().filter(is_active=True)}
    due: dict[str, list[int]] = defaultdict(list)
    for schema, delivery_id in due_deliveries_across(list(tenants)):
        due[schema].append(delivery_id)
    for schema, ids in due.items():
        with tenant_context(tenants[schema]):
            queue_deliveries(ids)
    if cache.add("notify-evaluation-sweep", 1, timeout=settings.NOTIFY_EVALUATION_SWEEP_SECONDS):
        for tenant in tenants.values():
            with tenant_context(tenant):
                queue_lost_evaluations()
    return {tenants[schema].slug: len(ids) for schema, ids in due.items()}
