"""/metrics: who may scrape it, and the series a real collection pass leaves there."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from configurations.models import PollRun
from drift.choices import SEVERITIES
from tests.platform.metrics_helpers import metric_names_used, sample_names, value

pytestmark = pytest.mark.django_db

#: Series only a Celery worker process produces (tests/platform/test_observability_worker.py).
WORKER_ONLY = {"driftdetector_celery_tasks_total"}


def test_without_debug_nothing_is_served_without_a_token_by_default(client, settings):
    assert settings.DEBUG is False
    assert settings.METRICS_ALLOWED_NETWORKS == [] and settings.METRICS_TOKEN == ""

    assert client.get("/metrics").status_code == 403  # not even to loopback


def test_an_address_outside_the_allowed_networks_is_refused_without_a_token(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = ""

    refused = client.get("/metrics")  # the test client comes from 127.0.0.1

    assert refused.status_code == 403
    assert b"driftdetector_" not in refused.content
    allowed = client.get("/metrics", REMOTE_ADDR="10.20.30.40")
    assert allowed.status_code == 200
    assert allowed["Content-Type"].startswith("text/plain; version=")
    assert b"driftdetector_celery_queue_length" in allowed.content


def test_the_bearer_token_is_required_where_no_network_is_allowed(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = "a-long-metrics-token"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    basic = client.get("/metrics", HTTP_AUTHORIZATION="Basic a-long-metrics-token")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-metrics-token")

    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"driftdetector_" not in response.content
    assert right.status_code == 200
    assert b"django_http_requests_total_by_method_total" in right.content


def test_a_real_pass_moves_the_series_and_every_dashboard_and_alert_metric_exists(
    client, settings, tenant_a, azure_tenant, collect
):
    from drift.services import run_detection

    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # as make run (DEBUG) has it

    before = client.get("/metrics").content.decode()
    azure_tenant(tenant_a, resources=60)

    run = collect(tenant_a)
    with tenant_context(tenant_a):
        run_detection(tenant_a, poll_run_id=run.pk)
    text = client.get("/metrics").content.decode()

    assert run.status == PollRun.Status.SUCCEEDED, run.error
    passes = "driftdetector_collection_passes_total"
    assert value(text, passes, status="succeeded") == value(before, passes, status="succeeded") + 1
    seen = "driftdetector_collection_resources_seen_total"
    assert value(text, seen) - value(before, seen) == run.seen
    graph = "driftdetector_azure_requests_total"
    assert value(text, graph, api="graph") > value(before, graph, api="graph")
    assert value(text, "driftdetector_detection_duration_seconds_count") > value(
        before, "driftdetector_detection_duration_seconds_count"
    )
    polled = "driftdetector_tenant_last_successful_poll_timestamp_seconds"
    assert value(text, polled, tenant=tenant_a.slug) == pytest.approx(
        run.finished_at.timestamp(), abs=0.01
    )
    assert value(text, "driftdetector_tenant_poll_interval_seconds", tenant=tenant_a.slug) > 0
    for severity in SEVERITIES:
        assert ("driftdetector_open_findings", severity) in {
            (name, dict(labels).get("severity"))
            for name, labels in _labelled(text, tenant=tenant_a.slug)
        }
    assert value(text, "django_db_execute_total", alias="default", vendor="postgresql") > 0

    missing = metric_names_used() - sample_names(text) - WORKER_ONLY
    assert not missing, f"the dashboard or the alert rules use series /metrics lacks: {missing}"


def _labelled(text: str, **wanted: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    from tests.platform.metrics_helpers import samples

    return [
        key for key in samples(text) if all(dict(key[1]).get(k) == v for k, v in wanted.items())
    ]


def test_the_expression_parser_finds_the_names_it_must_check():
    names = metric_names_used()

    assert "driftdetector_tenant_last_successful_poll_timestamp_seconds" in names
    assert "driftdetector_collection_pass_duration_seconds_bucket" in names
    assert "driftdetector_celery_queue_length" in names
    assert not any(name.endswith("_") for name in names)
