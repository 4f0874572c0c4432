"""azure-core pipeline policies: counted retries and Azure-aware throttling.

:class:`CountingRetryPolicy` is azure-core's RetryPolicy (Retry-After honoured) that also
counts retries and throttle waits, and refuses to sleep longer than allowed.
:class:`ThrottlePolicy` runs on every attempt (a per-retry policy) and
(a) retries a Resource Graph 429 that carries no Retry-After, using
    ``x-ms-user-quota-resets-after``;
(b) paces by the throttling headers: when the remaining quota reaches 0, the next request
    waits until the quota resets;
(c) takes a token from the shared limiter keyed by principal before each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy

from driftdetector import metrics
from driftdetector.logging import azure_client_request_id

from .errors import AzureThrottledError
from .limiter import ARM_READ_LIMIT, GRAPH_LIMIT, RateLimiter, acquire
from .stats import CallStats

GRAPH_MARKER = "/providers/microsoft.resourcegraph/"
ARM_REFILL_PAUSE = 1.0  # ARM gives no reset time; its bucket refills 25 tokens per second


def parse_hms(value: str | None) -> float | None:
    """``hh:mm:ss`` (Resource Graph's resets-after) or plain seconds -> seconds."""
    if not value:
        return None
    try:
        if ":" in value:
            hours, minutes, seconds = (float(p) for p in value.split(":"))
            return hours * 3600 + minutes * 60 + seconds
        return float(value)
    except ValueError:
        return None


def correlate(request: PipelineRequest[Any], header: str) -> None:
    """Send the current request id (API call or task) as Azure's client request id.

    azure-core's RequestIdPolicy puts a fresh GUID there; inside a request or a task
    that carries an id, that id replaces it, so Azure's logs and ours share one key.
    """
    request_id = azure_client_request_id()
    if request_id is not None:
        request.http_request.headers[header] = request_id


def request_kind(url: str) -> str:
    """``graph`` for Resource Graph calls, ``arm`` for everything else."""
    return "graph" if GRAPH_MARKER in url.lower() else "arm"


class CountingRetryPolicy(RetryPolicy):
    """RetryPolicy that records retries and throttle waits, capped at ``max_wait`` seconds."""

    def __init__(self, stats: CallStats, max_wait: float = 60.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stats = stats
        self.max_wait = max_wait

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        """As RetryPolicy, but never when Azure asks for a wait longer than ``max_wait``."""
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self.max_wait:
            return False
        return super().is_retry(settings, response)

    def sleep(
        self,
        settings: dict[str, Any],
        transport: Any,
        response: PipelineResponse[Any, Any] | None = None,
    ) -> None:
        """Record the wait, then sleep as RetryPolicy does."""
        retry_after = self.get_retry_after(response) if response is not None else None
        throttled = response is not None and response.http_response.status_code == 429
        if retry_after or throttled:
            self.stats.record_wait(retry_after or self.get_backoff_time(settings))
        else:
            self.stats.record_retry()
        super().sleep(settings, transport, response)


class ThrottlePolicy(HTTPPolicy):
    """Shared-limiter admission, header pacing and Resource Graph 429 handling."""

    def __init__(
        self,
        *,
        principal: str,
        stats: CallStats,
        limiter: RateLimiter | None = None,
        max_throttle_retries: int = 3,
        max_wait: float = 60.0,
        default_graph_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.principal = principal
        self.stats = stats
        self.limiter = limiter
        self.max_throttle_retries = max_throttle_retries
        self.max_wait = max_wait
        self.default_graph_wait = default_graph_wait
        self._sleep = sleep
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if seconds > self.max_wait:
            raise AzureThrottledError(
                f"Azure asked to wait {seconds:.0f} s, more than the {self.max_wait:.0f} s allowed",
                retry_after=seconds,
            )
        self.stats.record_wait(seconds)
        self._sleep(seconds)

    def _admit(self, kind: str) -> None:
        with self._lock:
            pause = self._blocked_until.get(kind, 0.0) - time.monotonic()
        self._wait(pause)
        if self.limiter is not None:
            limit = GRAPH_LIMIT if kind == "graph" else ARM_READ_LIMIT
            try:
                waited = acquire(
                    self.limiter,
                    f"{kind}:{self.principal}",
                    limit,
                    max_wait=self.max_wait,
                    sleep=self._sleep,
                )
            except TimeoutError as exc:
                raise AzureThrottledError(str(exc)) from exc
            if waited:
                self.stats.record_wait(waited)

    def _observe(self, kind: str, headers: Any) -> None:
        if kind == "graph":
            remaining = headers.get("x-ms-user-quota-remaining")
            resets = parse_hms(headers.get("x-ms-user-quota-resets-after"))
            pause = (resets or self.default_graph_wait) if remaining == "0" else 0.0
        else:
            remaining = headers.get("x-ms-ratelimit-remaining-subscription-reads") or headers.get(
                "x-ms-ratelimit-remaining-tenant-reads"
            )
            pause = ARM_REFILL_PAUSE if remaining == "0" else 0.0
        if pause:
            with self._lock:
                self._blocked_until[kind] = time.monotonic() + pause

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Admit, send, observe the headers; retry a bare Resource Graph 429 ourselves."""
        kind = request_kind(request.http_request.url)
        attempt = 0
        while True:
            self._admit(kind)
            self.stats.record_call(kind)
            correlate(request, "x-ms-client-request-id")
            response = self.next.send(request)
            http = response.http_response
            if http.status_code == 429:
                metrics.azure_throttled(kind)
            self._observe(kind, http.headers)
            bare_graph_429 = (
                kind == "graph" and http.status_code == 429 and not http.headers.get("Retry-After")
            )
            if not bare_graph_429 or attempt >= self.max_throttle_retries:
                return response
            attempt += 1
            resets = parse_hms(http.headers.get("x-ms-user-quota-resets-after"))
            self._wait(resets or self.default_graph_wait)
            with self._lock:
                self._blocked_until.pop(kind, None)
