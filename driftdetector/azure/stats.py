"""Counters a collection pass reads back: Azure calls, retries and throttling waits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from driftdetector import metrics


@dataclass
class CallStats:
    """Thread-safe counters shared by the policies of one connection."""

    calls: int = 0
    graph_calls: int = 0
    arm_calls: int = 0
    retries: int = 0
    throttle_waits: int = 0
    throttle_wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_call(self, kind: str) -> None:
        """One HTTP attempt to ARM (``arm``) or Resource Graph (``graph``)."""
        metrics.azure_request(kind)
        with self._lock:
            self.calls += 1
            if kind == "graph":
                self.graph_calls += 1
            else:
                self.arm_calls += 1

    def record_retry(self) -> None:
        """One retry after an error (not throttling)."""
        metrics.azure_retry()
        with self._lock:
            self.retries += 1

    def record_wait(self, seconds: float) -> None:
        """One wait imposed by throttling (Retry-After, quota headers or the shared limiter)."""
        if seconds <= 0:
            return
        metrics.azure_throttle_wait(seconds)
        with self._lock:
            self.throttle_waits += 1
            self.throttle_wait_seconds += seconds

    def reset(self) -> None:
        """Zero the counters (a reused connection starts each pass from zero)."""
        with self._lock:
            self.calls = self.graph_calls = self.arm_calls = self.retries = 0
            self.throttle_waits = 0
            self.throttle_wait_seconds = 0.0

    def snapshot(self) -> dict[str, Any]:
        """A plain dict of the counters."""
        with self._lock:
            return {
                "calls": self.calls,
                "graph_calls": self.graph_calls,
                "arm_calls": self.arm_calls,
                "retries": self.retries,
                "throttle_waits": self.throttle_waits,
                "throttle_wait_seconds": round(self.throttle_wait_seconds, 3),
            }
