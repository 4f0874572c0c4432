"""Per-principal quotas behind Azure's throttling headers.

Modes: ``off`` (headers always show a full quota; benchmarks), ``headers`` (real accounting
in the headers, never a 429) and ``enforce`` (429 once the bucket is empty).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

MODES = ("off", "headers", "enforce")

# Resource Graph: 15 queries per 5 s window per user (a fixed window, as Azure documents
# it); ARM reads: a token bucket of 250 refilled 25 per second.
GRAPH_QUOTA, GRAPH_WINDOW = 15, 5.0
ARM_CAPACITY, ARM_RATE = 250.0, 25.0


@dataclass
class Decision:
    """Outcome of one request against a bucket."""

    allowed: bool
    remaining: int
    resets_after: float
    retry_after: float


def hms(seconds: float) -> str:
    """Format seconds as ``hh:mm:ss`` (rounded up), as ``x-ms-user-quota-resets-after``."""
    total = max(0, math.ceil(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


class TokenBucket:
    """A classic token bucket (capacity, refill rate per second)."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self, enforce: bool) -> Decision:
        """Spend one token if there is one (or always, when not enforcing)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            allowed = True
        else:
            allowed = not enforce
            self.tokens = max(0.0, self.tokens - (0 if enforce else 1))
        resets = (self.capacity - self.tokens) / self.rate
        retry = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        return Decision(allowed, int(self.tokens), resets, retry)


class FixedWindow:
    """``quota`` requests per ``window`` seconds; the window starts at its first request."""

    def __init__(self, quota: int, window: float) -> None:
        self.quota = quota
        self.window = window
        self.used = 0
        self.started = 0.0

    def take(self, enforce: bool) -> Decision:
        """Count one request if the window has room (or always, when not enforcing)."""
        now = time.monotonic()
        if self.used == 0 or now - self.started >= self.window:
            self.used, self.started = 0, now
        resets = self.window - (now - self.started)
        if self.used < self.quota or not enforce:
            self.used = min(self.quota, self.used + 1)
            return Decision(True, self.quota - self.used, resets, 0.0)
        return Decision(False, 0, resets, resets)


class Throttle:
    """All buckets, keyed by (kind, tenant, principal); mode global with per-tenant overrides."""

    def __init__(self, mode: str = "off") -> None:
        self.mode = self._check(mode)
        self.tenant_modes: dict[str, str] = {}
        self._buckets: dict[tuple[str, str, str], TokenBucket | FixedWindow] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _check(mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"throttling mode must be one of {', '.join(MODES)}")
        return mode

    def set_mode(self, mode: str, tenant_id: str | None = None) -> None:
        """Set the global mode, or one tenant's override."""
        mode = self._check(mode)
        with self._lock:
            if tenant_id:
                self.tenant_modes[tenant_id] = mode
            else:
                self.mode = mode
                self.tenant_modes.clear()
            self._buckets.clear()

    def take(self, kind: str, tenant_id: str, principal: str) -> Decision:
        """Account one request of ``kind`` (``graph`` or ``arm``) for a principal."""
        mode = self.tenant_modes.get(tenant_id, self.mode)
        if mode == "off":
            full = GRAPH_QUOTA if kind == "graph" else int(ARM_CAPACITY)
            return Decision(True, full - 1, 0.0, 0.0)
        with self._lock:
            key = (kind, tenant_id, principal)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = (
                    FixedWindow(GRAPH_QUOTA, GRAPH_WINDOW)
                    if kind == "graph"
                    else TokenBucket(ARM_CAPACITY, ARM_RATE)
                )
                self._buckets[key] = bucket
            return bucket.take(enforce=mode == "enforce")

    def reset(self) -> None:
        """Forget all buckets and overrides (mode back to global)."""
        with self._lock:
            self._buckets.clear()
            self.tenant_modes.clear()
