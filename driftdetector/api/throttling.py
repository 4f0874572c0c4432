"""Throttles per API token, else per user, else per client address, in the shared cache.

The key names the tenant schema the request runs in, so the same user (or an id that
repeats in another schema) never shares a bucket across tenants.

The bucket is DRF's sliding log (a request is allowed while fewer than the rate's number
of requests were allowed within the last period), kept as a Redis sorted set of request
times and checked and updated by one Lua script: one round trip per request, atomic
across workers, and a constant cost per call. DRF's own ``SimpleRateThrottle`` read and
wrote the whole log as one pickled list (two round trips, and at 6,000/min up to 6,000
timestamps unpickled, trimmed, pickled and sent on every call, with a race between
workers). A cache that is not Redis falls back to DRF's way.
"""

from __future__ import annotations

import os
from typing import Any

from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

# KEYS[1]: the bucket; ARGV: now (s), period (s), allowed requests, a unique member.
# Returns {allowed (0/1), requests in the window (after this one when allowed), the
# oldest request's time as a string (or false)}.
SLIDING_LOG = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, ARGV[1], ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(period * 1000))
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or false}
"""
_scripts: dict[int, Any] = {}


def _script(client: Any) -> Any:
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(SLIDING_LOG)
    return script


class TenantAwareThrottle(SimpleRateThrottle):
    scope = "api"

    def get_cache_key(self, request: Any, view: Any) -> str:
        schema = getattr(connection, "schema_name", "public")
        token = request.auth
        if token is not None and getattr(token, "pk", None) is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{schema}:{ident}"

    def allow_request(self, request: Any, view: Any) -> bool:
        """DRF's decision (and ``wait``), made in Redis by one script call."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        client = getattr(getattr(self.cache, "_cache", None), "get_client", None)
        if client is None:  # not a Redis cache: DRF's read-modify-write of the list
            return super().allow_request(request, view)
        self.now = self.timer()
        redis = client(write=True)
        allowed, count, oldest = _script(redis)(
            keys=[self.cache.make_and_validate_key(f"{self.key}:log")],
            args=[
                self.now,
                self.duration,
                self.num_requests,
                f"{self.now!r}:{os.urandom(6).hex()}",
            ],
            client=redis,
        )
        self._count = int(count)
        self._oldest = float(oldest) if oldest else None
        return bool(allowed)

    def wait(self) -> float | None:
        """DRF's ``wait``: the rest of the oldest request's period over the requests left."""
        if not hasattr(self, "_count"):
            return super().wait()
        remaining = self.duration
        if self._oldest is not None:
            remaining = self.duration - (self.now - self._oldest)
        available = self.num_requests - self._count + 1
        if available <= 0:
            return None
        return remaining / float(available)


class WriteThrottle(TenantAwareThrottle):
    """A tighter bucket for writes (onboarding, actions, settings)."""

    scope = "api_write"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
