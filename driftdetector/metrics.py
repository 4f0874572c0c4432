"""The business metrics of the pipelines, defined once; the apps call these thin functions.

Below the apps: this module imports no app, and holds no business logic. A service calls
``metrics.collection_pass(...)`` with facts it already has; the counters and histograms
here turn them into Prometheus series. Values that live in tables (open findings per
tenant, the last successful poll, the forwarder backlog, queue lengths) are not pushed
from here but read at scrape time by ``driftdetector.metrics_scrape``.

Label cardinality is bounded by design (README, "Metrics"): no label carries a tenant,
a resource, a principal or an error text; labels are drawn from small vocabularies
(statuses, severities, channel kinds, task names, Azure APIs, limiter buckets). The
tenant label only appears on the scrape-time fleet series (a handful per tenant).

Under gunicorn and Celery prefork every process writes to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and ``/metrics``
sums them; ``METRICS_ENABLED=false`` turns every call here into a no-op (benchmarks).
"""

from __future__ import annotations

import collections

from django.conf import settings
from prometheus_client import Counter, Histogram

_PASS_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800)
_FAST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
_LATENCY_BUCKETS = (0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)

COLLECTION_PASSES = Counter(
    "driftdetector_collection_passes",
    "Collection passes finished, by outcome (succeeded, partial, failed).",
    ["status"],
)
COLLECTION_PASS_DURATION = Histogram(
    "driftdetector_collection_pass_duration_seconds",
    "Wall time of one collection pass.",
    ["status"],
    buckets=_PASS_BUCKETS,
)
COLLECTION_RESOURCES_SEEN = Counter(
    "driftdetector_collection_resources_seen", "Resources read from Azure by collection passes."
)
COLLECTION_RESOURCES_CHANGED = Counter(
    "driftdetector_collection_resources_changed",
    "Resources whose stored configuration a pass changed, by change (created, updated, deleted).",
    ["change"],
)
COLLECTION_PAGES = Counter(
    "driftdetector_collection_pages", "Resource Graph result pages written by collection passes."
)

AZURE_REQUESTS = Counter(
    "driftdetector_azure_requests",
    "HTTP attempts to Azure, by API (arm, graph = Resource Graph, msgraph = Microsoft Graph).",
    ["api"],
)
AZURE_THROTTLED = Counter(
    "driftdetector_azure_throttled_responses",
    "HTTP 429 answers from Azure, by API.",
    ["api"],
)
AZURE_RETRIES = Counter(
    "driftdetector_azure_retries", "Retries after an Azure error that was not throttling."
)
AZURE_THROTTLE_WAITS = Counter(
    "driftdetector_azure_throttle_waits",
    "Waits imposed by throttling (Retry-After, quota headers or the shared limiter).",
)
AZURE_THROTTLE_WAIT_SECONDS = Counter(
    "driftdetector_azure_throttle_wait_seconds", "Seconds spent in those waits."
)
LIMITER_WAITS = Counter(
    "driftdetector_azure_limiter_waits",
    "Requests the shared token-bucket limiter held back, by bucket (arm, graph, reports, ...).",
    ["bucket"],
)
LIMITER_WAIT_SECONDS = Counter(
    "driftdetector_azure_limiter_wait_seconds",
    "Seconds requests waited for a limiter token, by bucket.",
    ["bucket"],
)
LIMITER_REFUSALS = Counter(
    "driftdetector_azure_limiter_refusals",
    "Requests given up because the limiter would make them wait longer than allowed.",
    ["bucket"],
)

DETECTION_DURATION = Histogram(
    "driftdetector_detection_duration_seconds",
    "Wall time of one drift detection pass.",
    buckets=_FAST_BUCKETS,
)
FINDINGS_OPENED = Counter(
    "driftdetector_findings_opened", "Drift findings opened, by severity.", ["severity"]
)
FINDINGS_RESOLVED = Counter(
    "driftdetector_findings_resolved",
    "Drift findings resolved (back to baseline), by severity.",
    ["severity"],
)

DELIVERIES = Counter(
    "driftdetector_notification_deliveries",
    "Notification delivery attempts, by channel kind and result (sent, failed, dead).",
    ["kind", "status"],
)
DELIVERY_LATENCY = Histogram(
    "driftdetector_notification_delivery_latency_seconds",
    "From a delivery's creation to its successful send, by channel kind.",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
)
CHANNELS_DISABLED = Counter(
    "driftdetector_notification_channels_disabled",
    "Channels disabled after a 410 or repeated failures, by kind.",
    ["kind"],
)

AUDIT_ROWS = Counter(
    "driftdetector_audit_rows_ingested",
    "New audit rows stored from Microsoft Graph, by source (azure_signin, azure_directory).",
    ["source"],
)
FORWARDER_DOCUMENTS = Counter(
    "driftdetector_audit_forwarder_documents",
    "Audit documents the ELK forwarder settled, by result (shipped, already_there, retry, parked).",
    ["result"],
)
FORWARDER_FAILURES = Counter(
    "driftdetector_audit_forwarder_failed_requests",
    "Bulk requests to Elasticsearch that failed as a whole.",
)

CELERY_TASKS = Counter(
    "driftdetector_celery_tasks",
    "Celery tasks finished, by task name and outcome (SUCCESS, FAILURE, RETRY, ...).",
    ["task", "outcome"],
)
CELERY_TASK_DURATION = Histogram(
    "driftdetector_celery_task_duration_seconds",
    "Run time of Celery tasks, by task name.",
    ["task"],
    buckets=_FAST_BUCKETS,
)


def enabled() -> bool:
    """Metrics are collected unless ``METRICS_ENABLED`` is false (benchmark comparison)."""
    return getattr(settings, "METRICS_ENABLED", True)


def collection_pass(
    *,
    status: str,
    duration: float,
    seen: int,
    created: int,
    updated: int,
    deleted: int,
    pages: int,
) -> None:
    """One finished collection pass."""
    if not enabled():
        return
    COLLECTION_PASSES.labels(status).inc()
    COLLECTION_PASS_DURATION.labels(status).observe(duration)
    COLLECTION_RESOURCES_SEEN.inc(seen)
    for change, count in (("created", created), ("updated", updated), ("deleted", deleted)):
        if count:
            COLLECTION_RESOURCES_CHANGED.labels(change).inc(count)
    COLLECTION_PAGES.inc(pages)


def azure_request(api: str) -> None:
    """One HTTP attempt to Azure."""
    if enabled():
        AZURE_REQUESTS.labels(api).inc()


def azure_throttled(api: str) -> None:
    """One 429 from Azure."""
    if enabled():
        AZURE_THROTTLED.labels(api).inc()


def azure_retry() -> None:
    """One retry after a non-throttling error."""
    if enabled():
        AZURE_RETRIES.inc()


def azure_throttle_wait(seconds: float) -> None:
    """One wait imposed by throttling."""
    if enabled():
        AZURE_THROTTLE_WAITS.inc()
        AZURE_THROTTLE_WAIT_SECONDS.inc(seconds)


def limiter_wait(bucket: str, seconds: float) -> None:
    """A request waited ``seconds`` for a token of ``bucket``."""
    if enabled():
        LIMITER_WAITS.labels(bucket).inc()
        LIMITER_WAIT_SECONDS.labels(bucket).inc(seconds)


def limiter_refused(bucket: str) -> None:
    """The limiter would have made a request wait too long; it was given up."""
    if enabled():
        LIMITER_REFUSALS.labels(bucket).inc()


def detection(*, duration: float, opened: list[str], resolved: list[str]) -> None:
    """One detection pass; ``opened`` / ``resolved`` list the findings' severities."""
    if not enabled():
        return
    DETECTION_DURATION.observe(duration)
    for severity, count in collections.Counter(opened).items():
        FINDINGS_OPENED.labels(severity).inc(count)
    for severity, count in collections.Counter(resolved).items():
        FINDINGS_RESOLVED.labels(severity).inc(count)


def delivery(*, kind: str, status: str, latency: float | None = None) -> None:
    """One delivery attempt settled; ``latency`` (creation to send) when it was sent."""
    if not enabled():
        return
    DELIVERIES.labels(kind, status).inc()
    if latency is not None:
        DELIVERY_LATENCY.labels(kind).observe(max(0.0, latency))


def channel_disabled(kind: str) -> None:
    """A channel was disabled by the platform."""
    if enabled():
        CHANNELS_DISABLED.labels(kind).inc()


def audit_rows(source: str, count: int) -> None:
    """``count`` new audit rows were stored."""
    if enabled() and count:
        AUDIT_ROWS.labels(source).inc(count)


def forwarder_batch(*, failed: bool = False, **results: int) -> None:
    """A forwarder batch settled (``shipped=.., retry=.., ...``), or its request failed."""
    if not enabled():
        return
    if failed:
        FORWARDER_FAILURES.inc()
    for result, count in results.items():
        if count:
            FORWARDER_DOCUMENTS.labels(result).inc(count)


def celery_task(*, task: str, outcome: str, duration: float | None) -> None:
    """A Celery task finished."""
    if not enabled():
        return
    CELERY_TASKS.labels(task, outcome).inc()
    if duration is not None:
        CELERY_TASK_DURATION.labels(task).observe(duration)


def initialise(
    *,
    pass_statuses: list[str],
    severities: tuple[str, ...] | list[str],
    channel_kinds: list[str],
    delivery_statuses: list[str],
) -> None:
    """Create every labelled series of the known vocabularies at zero (called at start-up).

    A counter that has never moved has no series, and ``rate()`` or an alert on it sees
    nothing; the vocabularies come from the apps (this module imports none).
    """
    for status in pass_statuses:
        COLLECTION_PASSES.labels(status)
        COLLECTION_PASS_DURATION.labels(status)
    for change in ("created", "updated", "deleted"):
        COLLECTION_RESOURCES_CHANGED.labels(change)
    for api in ("arm", "graph", "msgraph"):
        AZURE_REQUESTS.labels(api)
        AZURE_THROTTLED.labels(api)
    for bucket in ("arm", "graph", "reports", "reports-app"):
        LIMITER_WAITS.labels(bucket)
        LIMITER_WAIT_SECONDS.labels(bucket)
        LIMITER_REFUSALS.labels(bucket)
    for severity in severities:
        FINDINGS_OPENED.labels(severity)
        FINDINGS_RESOLVED.labels(severity)
    for kind in channel_kinds:
        CHANNELS_DISABLED.labels(kind)
        DELIVERY_LATENCY.labels(kind)
        for status in delivery_statuses:
            DELIVERIES.labels(kind, status)
    for source in ("azure_signin", "azure_directory"):
        AUDIT_ROWS.labels(source)
    for result in ("shipped", "already_there", "retry", "parked"):
        FORWARDER_DOCUMENTS.labels(result)
