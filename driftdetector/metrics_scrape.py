"""Series read at scrape time from the tables and the broker, and the protected /metrics view.

Pushed counters (``driftdetector.metrics``, django-prometheus) live in each process; the
fleet's state does not: it is read once per scrape, with one query per source, never
per tenant schema:

* fleet: ``tenants_tenantstatus`` (the public status table the fleet page reads) joined
  to the tenant and its newest polling interval: open findings by severity, last
  (successful) poll, consecutive failures, per active tenant;
* the ELK forwarder's outbox: backlog, parked entries, age of the oldest waiting entry;
* Celery queue lengths: ``LLEN`` of each queue's list on the Redis broker;
* the shared Azure limiter: the fewest tokens left in any live bucket of each kind.

Access (``metrics_view``): a client whose address is in ``METRICS_ALLOWED_NETWORKS``,
or one presenting ``Authorization: Bearer <METRICS_TOKEN>``; everyone else gets 403
(401 with a Bearer challenge when a token is configured).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

#: Sub-keys kombu's Redis transport uses for priorities 3, 6, 9 beside the plain list.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_LIMITER_PREFIX = "driftdetector:azlimit:"


_FLEET_SQL = """
SELECT t.slug,
       COALESCE(s.open_findings, '{}'::jsonb),
       COALESCE(EXTRACT(EPOCH FROM s.last_poll_at), 0),
       COALESCE(EXTRACT(EPOCH FROM s.last_successful_poll_at), 0),
       s.consecutive_failures,
       COALESCE(v.interval_seconds, 0)
FROM tenants_tenantstatus s
JOIN tenants_tenant t ON t.id = s.tenant_id
LEFT JOIN (
    SELECT DISTINCT ON (tenant_id) tenant_id,
           (polling_settings ->> 'interval_minutes')::float * 60 AS interval_seconds
    FROM tenants_settings
    ORDER BY tenant_id, last_updated DESC, id DESC
) v ON v.tenant_id = t.id
WHERE t.is_active
"""

#: (name, help) of the per-tenant gauges, in the order of the query's columns 2..5.
_FLEET_GAUGES = (
    (
        "driftdetector_tenant_last_poll_timestamp_seconds",
        "When the tenant's last collection pass finished (0 = never).",
    ),
    (
        "driftdetector_tenant_last_successful_poll_timestamp_seconds",
        "When the tenant's last successful collection pass finished (0 = never).",
    ),
    (
        "driftdetector_tenant_poll_consecutive_failures",
        "Collection passes in a row that did not succeed.",
    ),
    ("driftdetector_tenant_poll_interval_seconds", "The tenant's configured polling interval."),
)


def _label(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def fleet_exposition() -> str:
    """Per-tenant health from the public status table: one query, written as text.

    At 1,000 tenants these are 8,000 samples; building them as exposition text directly
    (slugs need no escaping, numbers come from SQL) keeps the scrape well under 100 ms,
    where prometheus_client's per-sample objects and formatting took most of it.
    """
    from django.db import connection

    from drift.choices import SEVERITIES

    with connection.cursor() as cursor:
        cursor.execute(_FLEET_SQL)
        rows = cursor.fetchall()
    lines = [
        "# HELP driftdetector_tenants Active tenants in the fleet status table.",
        "# TYPE driftdetector_tenants gauge",
        f"driftdetector_tenants {float(len(rows))}",
        "# HELP driftdetector_open_findings Open drift findings by tenant and severity"
        " (from the fleet status table).",
        "# TYPE driftdetector_open_findings gauge",
    ]
    tenants = [(_label(row[0]), row) for row in rows]
    for slug, row in tenants:
        counts = row[1] if isinstance(row[1], dict) else json.loads(row[1])
        lines.extend(
            f'driftdetector_open_findings{{severity="{severity}",tenant="{slug}"}} '
            f"{float(counts.get(severity, 0))}"
            for severity in SEVERITIES
        )
    for column, (name, help_text) in enumerate(_FLEET_GAUGES, start=2):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f'{name}{{tenant="{slug}"}} {float(row[column])}' for slug, row in tenants)
    return "\n".join(lines) + "\n"


class ForwarderCollector:
    """The ELK outbox: backlog, parked entries and the age of the oldest waiting entry."""

    def collect(self) -> Iterator[Metric]:
        from django.db.models import Count, Min, Q

        from auditlog.fleet.models import OutboxEntry

        pending = Q(state=OutboxEntry.State.PENDING)
        row = OutboxEntry.objects.aggregate(
            backlog=Count("id", filter=pending),
            parked=Count("id", filter=Q(state=OutboxEntry.State.PARKED)),
            oldest=Min("created_at", filter=pending),
        )
        lag = (timezone.now() - row["oldest"]).total_seconds() if row["oldest"] else 0.0
        yield GaugeMetricFamily(
            "driftdetector_audit_forwarder_backlog",
            "Audit documents waiting to be shipped to Elasticsearch.",
            value=row["backlog"],
        )
        yield GaugeMetricFamily(
            "driftdetector_audit_forwarder_parked",
            "Audit documents the cluster refused (waiting for a requeue).",
            value=row["parked"],
        )
        yield GaugeMetricFamily(
            "driftdetector_audit_forwarder_lag_seconds",
            "Age of the oldest audit document waiting to be shipped (0 when none waits).",
            value=max(0.0, lag),
        )


@functools.lru_cache(maxsize=8)
def _redis(url: str) -> Any:
    """One client (and connection pool) per URL and process, reused by every scrape."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


class RedisCollector:
    """Celery queue lengths (LLEN on the broker) and the shared limiter's buckets."""

    def collect(self) -> Iterator[Metric]:
        queues = [q.name for q in settings.CELERY_TASK_QUEUES]
        lengths = GaugeMetricFamily(
            "driftdetector_celery_queue_length",
            "Messages waiting in each Celery queue (Redis broker).",
            labels=["queue"],
        )
        tokens = GaugeMetricFamily(
            "driftdetector_azure_limiter_tokens_min",
            "Fewest tokens left in any live bucket of this kind (a principal near starving).",
            labels=["bucket"],
        )
        live = GaugeMetricFamily(
            "driftdetector_azure_limiter_active_buckets",
            "Token buckets used within their refill time, by kind.",
            labels=["bucket"],
        )
        try:
            client = _redis(settings.CELERY_BROKER_URL)
            pipe = client.pipeline(transaction=False)
            for name in queues:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(name + suffix)
            counts = pipe.execute()
            step = len(_PRIORITY_SUFFIXES)
            for i, name in enumerate(queues):
                lengths.add_metric([name], float(sum(counts[i * step : (i + 1) * step])))
            self._limiter(tokens, live)
        except Exception as exc:  # the scrape still answers; the gap shows on the dashboard
            logger.warning("metrics: Redis unreachable (%s)", exc)
        yield from (lengths, tokens, live)

    def _limiter(self, tokens: GaugeMetricFamily, live: GaugeMetricFamily) -> None:
        """Token buckets live in the cache's Redis database (configurations.services)."""
        client = _redis(settings.CACHES["default"]["LOCATION"])
        from driftdetector.azure.limiter import ARM_READ_LIMIT, GRAPH_LIMIT

        keys = list(client.scan_iter(match=f"{_LIMITER_PREFIX}*", count=1000))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, "tokens")
        # A bucket unused for its refill time has expired: it is full.
        fewest: dict[str, float] = {"arm": ARM_READ_LIMIT.capacity, "graph": GRAPH_LIMIT.capacity}
        active: dict[str, int] = dict.fromkeys(fewest, 0)
        for key, value in zip(keys, pipe.execute() if keys else [], strict=True):
            if value is None:  # a sliding-window bucket (a sorted set), not a token bucket
                continue
            bucket = key.decode()[len(_LIMITER_PREFIX) :].split(":", 1)[0]
            fewest[bucket] = min(fewest.get(bucket, float("inf")), float(value))
            active[bucket] = active.get(bucket, 0) + 1
        for bucket in sorted(fewest):
            tokens.add_metric([bucket], fewest[bucket])
            live.add_metric([bucket], float(active[bucket]))


class _ProcessCollector:
    """This process's registry (no multiprocess directory: ``make test``, runserver)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


SCRAPE_COLLECTORS = (ForwarderCollector, RedisCollector)


def scrape() -> bytes:
    """The exposition text: every process's series plus the scrape-time ones."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    started = time.perf_counter()
    for collector in SCRAPE_COLLECTORS:
        registry.register(collector())
    body = generate_latest(registry) + fleet_exposition().encode()
    logger.debug("metrics scrape took %.1f ms", (time.perf_counter() - started) * 1000)
    return body


def _client_allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(net, strict=False)
        for net in settings.METRICS_ALLOWED_NETWORKS
    )


def _token_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given, token)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics`` for Prometheus, to allowed networks or bearers of METRICS_TOKEN."""
    if not (_token_ok(request) or _client_allowed(request)):
        if settings.METRICS_TOKEN:
            response = HttpResponse("metrics need a valid bearer token\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("metrics are not served to this address\n", status=403)
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
