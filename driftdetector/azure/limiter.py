"""Token-bucket rate limiting shared by every worker process through Redis.

One app registration polls many tenants, and Azure's limits apply to that principal, so the
buckets are keyed by client id and live in Redis; an atomic Lua script refills and spends
in one step using the Redis server's clock. :class:`LocalLimiter` is the same thing in
process memory (tests, or no Redis).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """A bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second.

    With ``window`` set it is a sliding window instead: at most ``capacity`` requests in
    any ``window`` seconds (Microsoft Graph's reports limits are stated that way).
    """

    capacity: float
    rate: float
    window: float | None = None


GRAPH_LIMIT = Limit(capacity=15, rate=3.0)  # Resource Graph: 15 queries per 5 s
ARM_READ_LIMIT = Limit(capacity=250, rate=25.0)  # ARM reads: 250 burst, 25/s refill


class RateLimiter(Protocol):
    """What the throttle policy needs from a limiter."""

    def try_acquire(self, key: str, limit: Limit) -> float:
        """Take a token: 0.0 when granted, else the seconds to wait before trying again."""


_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = (1 - tokens) / rate
else
  wait = 3600
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
local ttl = 3600000
if rate > 0 then ttl = math.ceil(capacity / rate * 1000) + 1000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return tostring(wait)
"""


_WINDOW_LUA = """
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local member = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < capacity then
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(math.max(0.001, tonumber(oldest[2]) + window - now))
"""


class LocalLimiter:
    """In-process token buckets with the same semantics as :class:`RedisLimiter`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._windows: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, key: str, limit: Limit) -> float:
        """Take a token: 0.0 when granted, else the seconds to wait."""
        if limit.window is not None:
            return self._window(key, limit, limit.window)
        with self._lock:
            now = self._clock()
            tokens, ts = self._buckets.get(key, (limit.capacity, now))
            tokens = min(limit.capacity, tokens + max(0.0, now - ts) * limit.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / limit.rate if limit.rate > 0 else 3600.0

    def _window(self, key: str, limit: Limit, window: float) -> float:
        with self._lock:
            now = self._clock()
            times = [t for t in self._windows.get(key, []) if t > now - window]
            if len(times) < limit.capacity:
                times.append(now)
                self._windows[key] = times
                return 0.0
            self._windows[key] = times
            return max(0.001, times[0] + window - now)


class RedisLimiter:
    """Token buckets in Redis (atomic Lua); falls back to a local bucket if Redis fails."""

    def __init__(self, client: Any, prefix: str = "driftdetector:azlimit") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_LUA)
        self._window_script = client.register_script(_WINDOW_LUA)
        self._fallback = LocalLimiter()
        self._warned = False

    @classmethod
    def from_url(cls, url: str, prefix: str = "driftdetector:azlimit") -> RedisLimiter:
        """Connect with redis-py to ``url``."""
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5), prefix)

    def try_acquire(self, key: str, limit: Limit) -> float:
        """Take a token: 0.0 when granted, else the seconds to wait."""
        import redis

        try:
            if limit.window is not None:
                wait = self._window_script(
                    keys=[f"{self._prefix}:{key}"],
                    args=[limit.capacity, limit.window, uuid.uuid4().hex],
                )
            else:
                wait = self._script(
                    keys=[f"{self._prefix}:{key}"], args=[limit.capacity, limit.rate]
                )
        except redis.RedisError as exc:
            if not self._warned:
                log.warning("Redis limiter unavailable (%s); pacing this process only", exc)
                self._warned = True
            return self._fallback.try_acquire(key, limit)
        return float(wait)


def acquire(
    limiter: RateLimiter,
    key: str,
    limit: Limit,
    *,
    max_wait: float,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Block until a token is granted; returns the seconds waited.

    Raises TimeoutError if the total wait would exceed ``max_wait``.
    """
    from driftdetector import metrics

    bucket = key.split(":", 1)[0]
    waited = 0.0
    while True:
        wait = limiter.try_acquire(key, limit)
        if wait <= 0:
            if waited:
                metrics.limiter_wait(bucket, waited)
            return waited
        if waited + wait > max_wait:
            metrics.limiter_refused(bucket)
            raise TimeoutError(f"rate limiter '{key}' would need more than {max_wait:.0f} s")
        sleep(wait)
        waited += wait
