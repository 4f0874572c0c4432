"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints.

Neither touches the session, so both answer while Redis is down; ``/readyz`` then
answers 503 naming the part that failed.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    client = redis.Redis.from_url(
        settings.CACHES["default"]["LOCATION"], socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    finally:
        client.close()


def _check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "redis": _check_redis,
    "broker": _check_broker,
}


def run_checks() -> dict[str, str]:
    """Run every readiness check; map each name to "ok" or a one-line error."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    return results


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, Redis and broker reachable: 200; otherwise 503 naming what failed."""
    results = run_checks()
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": results, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)
