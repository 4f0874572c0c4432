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


@app.task(name="notifications.tasks.send_delivery")
def send_delivery(delivery_id: int) -> dict[str, Any]:
    """Send one delivery if it is due and not taken; the attempt is recorded either way."""
    from notifications.services import attempt_delivery

    delivery = attempt_delivery(delivery_id=delivery_id)
    return {"delivery": delivery_id, "status": delivery.status if delivery else "not due"}


@app.task(name="notifications.tasks.sweep_deliveries")
def sweep_deliveries() -> dict[str, int]:
    """Beat task (public schema): queue every tenant's due deliveries (retries, digests,
    messages held by quiet hours, and deliveries a killed worker left behind)."""
    from django_tenants.utils import tenant_context

    from notifications.services import queue_due_deliveries
    from tenants.selectors import customer_tenants

    queued: dict[str, int] = {}
    for tenant in customer_tenants().filter(is_active=True):
        with tenant_context(tenant):
            count = queue_due_deliveries()
        if count:
            queued[tenant.slug] = count
    return queued
