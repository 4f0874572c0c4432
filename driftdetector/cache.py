"""Django's Redis cache with django-prometheus's cache counters (gets, hits, misses, fails).

django-prometheus ships such a backend, but its module imports django-redis, which this
project does not use; the counters are the same objects, so its dashboards apply.
"""

from __future__ import annotations

from typing import Any

from django_prometheus.cache.metrics import (
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

from driftdetector.rediscache import RedisCache

_BACKEND = "redis"


class MeteredRedisCache(RedisCache):
    """RedisCache whose ``get`` is counted."""

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        """As RedisCache.get, counting the get and whether it hit."""
        django_cache_get_total.labels(backend=_BACKEND).inc()
        try:
            value = super().get(key, default=None, version=version)
        except Exception:
            django_cache_get_fail_total.labels(backend=_BACKEND).inc()
            raise
        if value is None:
            django_cache_misses_total.labels(backend=_BACKEND).inc()
            return default
        django_cache_hits_total.labels(backend=_BACKEND).inc()
        return value
