"""Microsoft Graph audit logs: sign-ins and directory audits of one customer tenant.

A thin client on azure-core (no msgraph-sdk): a bearer-token pipeline against
``AZURE_GRAPH_ENDPOINT``, paged by ``@odata.nextLink`` (followed as an opaque URL), paced
by the reports service's limits (5 requests / 10 s per app per tenant, 122 / 10 s per
app across all tenants) in the shared limiter, Retry-After honoured by the retry policy.
Graph answers newest first, so a caller may only move its high-water mark once a whole
query has been read; re-reading is harmless because rows are deduplicated on Graph's id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from azure.core import PipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    ContentDecodePolicy,
    HeadersPolicy,
    HTTPPolicy,
    RequestIdPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest

from driftdetector import metrics

from .clients import USER_AGENT, AzureConnection
from .errors import AzureAccessError, AzureResponseError, AzureThrottledError, translate
from .limiter import Limit, LocalLimiter, RateLimiter, acquire
from .policies import CountingRetryPolicy, correlate

# Graph's reports service (auditLogs): 5 requests per 10 s per app per tenant, and 122 per
# 10 s per app across all tenants: sliding windows (half a second longer, for the time a
# request takes to arrive), so no 10 s span ever holds more.
REPORTS_TENANT_LIMIT = Limit(capacity=5, rate=0.5, window=10.5)
REPORTS_APP_LIMIT = Limit(capacity=122, rate=12.2, window=10.5)
LICENCE_ERROR = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
PAGE_SIZE = 1000
# How long Graph keeps audit logs: 7 days without Entra ID P1/P2, 30 days with it.
RETENTION_FREE = timedelta(days=7)
RETENTION_PREMIUM = timedelta(days=30)


@dataclass(frozen=True)
class Feed:
    """One Graph audit collection: its path and the property its filter and order use."""

    name: str
    path: str
    time_field: str


SIGN_INS = Feed("signIns", "/v1.0/auditLogs/signIns", "createdDateTime")
DIRECTORY_AUDITS = Feed("directoryAudits", "/v1.0/auditLogs/directoryAudits", "activityDateTime")


class GraphLicenceError(AzureAccessError):
    """The tenant has no Entra ID P1/P2 licence: Graph refuses its sign-in logs."""


class GraphSkipTokenError(AzureResponseError):
    """Graph no longer accepts a page's skip token (the query must start again)."""


class ReportsLimitPolicy(HTTPPolicy):
    """Takes a token from the tenant's and from the app's reports bucket before each attempt."""

    def __init__(
        self,
        *,
        tenant_key: str,
        app_key: str,
        limiter: RateLimiter,
        max_wait: float,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.tenant_key = tenant_key
        self.app_key = app_key
        self.limiter = limiter
        self.max_wait = max_wait
        self._sleep = sleep
        self._on_wait = on_wait

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Wait for both buckets, then send."""
        for key, limit in (
            (f"reports:{self.tenant_key}", REPORTS_TENANT_LIMIT),
            (f"reports-app:{self.app_key}", REPORTS_APP_LIMIT),
        ):
            try:
                waited = acquire(
                    self.limiter, key, limit, max_wait=self.max_wait, sleep=self._sleep
                )
            except TimeoutError as exc:
                raise AzureThrottledError(str(exc)) from exc
            if waited and self._on_wait is not None:
                self._on_wait(waited)
        correlate(request, "client-request-id")
        metrics.azure_request("msgraph")
        response = self.next.send(request)
        if response.http_response.status_code == 429:
            metrics.azure_throttled("msgraph")
        return response


_LOCAL_LIMITER = LocalLimiter()


def graph_pipeline(conn: AzureConnection) -> PipelineClient:
    """A bearer-token pipeline to Microsoft Graph, paced by the reports limits."""
    endpoint = conn.endpoints.graph_endpoint.rstrip("/")
    options = conn.options
    retry = CountingRetryPolicy(
        conn.stats,
        max_wait=options.max_throttle_wait,
        retry_total=options.retry_total,
        retry_backoff_factor=options.retry_backoff_factor,
        retry_backoff_max=options.retry_backoff_max,
    )
    pacing = ReportsLimitPolicy(
        tenant_key=conn.principal,
        app_key=conn.client_id.lower(),
        limiter=conn.limiter or _LOCAL_LIMITER,
        # A full window is a normal wait here (the pass runs on its own queue).
        max_wait=max(options.max_throttle_wait, 2 * (REPORTS_TENANT_LIMIT.window or 10.0)),
        sleep=options.sleep,
        on_wait=conn.stats.record_wait,
    )
    return PipelineClient(
        base_url=endpoint,
        policies=[
            RequestIdPolicy(),
            HeadersPolicy(),
            UserAgentPolicy(base_user_agent=USER_AGENT),
            ContentDecodePolicy(),
            retry,
            BearerTokenCredentialPolicy(conn.credential, f"{endpoint}/.default"),
            pacing,
        ],
        connection_verify=conn.endpoints.verify,
        connection_timeout=options.connection_timeout,
        read_timeout=options.read_timeout,
    )


def iso(moment: datetime) -> str:
    """A Graph DateTimeOffset literal (UTC, whole seconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_code(body: Any) -> tuple[str, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def _get(client: PipelineClient, url: str, what: str, follow: bool) -> dict[str, Any]:
    try:
        response = client.send_request(HttpRequest("GET", url))
    except AzureError as exc:
        raise translate(exc, what) from exc
    text = response.text()
    try:
        body = json.loads(text) if text else {}
    except ValueError as exc:
        raise AzureResponseError(f"{what}: Graph returned a body that is not valid JSON") from exc
    status = response.status_code
    if status == 403:
        code, message = _error_code(body)
        if code == LICENCE_ERROR:
            raise GraphLicenceError(f"{what}: sign-ins unavailable (licence): {message}")
        raise AzureAccessError(f"{what}: Graph answered 403 {code}: {message}".strip())
    if status == 400 and follow:
        code, message = _error_code(body)
        raise GraphSkipTokenError(f"{what}: Graph refused the next page: {message or code}")
    if status >= 400:
        code, message = _error_code(body)
        if status == 429:
            raise AzureThrottledError(f"{what}: Graph is still throttling after retries")
        if status in (401,):
            raise AzureAccessError(f"{what}: Graph answered 401 {code}: {message}".strip())
        raise AzureResponseError(f"{what}: Graph answered {status} {code}: {message}".strip())
    if not isinstance(body, dict) or not isinstance(body.get("value", []), list):
        raise AzureResponseError(f"{what}: expected a JSON object with a 'value' list")
    return body


def iter_pages(
    client: PipelineClient,
    base_url: str,
    feed: Feed,
    since: datetime,
    *,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """The feed's rows at or after ``since``, page by page (newest first).

    ``@odata.nextLink`` is followed verbatim. A refused skip token raises
    :class:`GraphSkipTokenError`; the caller restarts the query (rows are deduplicated).
    """
    flt = f"{feed.time_field} ge {iso(since)}"
    url: str | None = f"{base_url.rstrip('/')}{feed.path}?$top={page_size}&$filter={quote(flt)}"
    page = 0
    while url:
        page += 1
        body = _get(client, url, f"Graph {feed.name} page {page}", follow=page > 1)
        rows = [row for row in body.get("value") or [] if isinstance(row, dict)]
        yield rows
        link = body.get("@odata.nextLink")
        url = link if isinstance(link, str) and link else None


def read_feed(
    client: PipelineClient,
    base_url: str,
    feed: Feed,
    since: datetime,
    *,
    page_size: int = PAGE_SIZE,
    restarts: int = 1,
) -> Iterator[list[dict[str, Any]]]:
    """As :func:`iter_pages`, starting the query again (at most ``restarts`` times) when a
    skip token is refused; pages already yielded may then come again."""
    attempt = 0
    while True:
        try:
            yield from iter_pages(client, base_url, feed, since, page_size=page_size)
            return
        except GraphSkipTokenError:
            attempt += 1
            if attempt > restarts:
                raise


__all__ = [
    "DIRECTORY_AUDITS",
    "REPORTS_APP_LIMIT",
    "REPORTS_TENANT_LIMIT",
    "RETENTION_FREE",
    "RETENTION_PREMIUM",
    "SIGN_INS",
    "Feed",
    "GraphLicenceError",
    "GraphSkipTokenError",
    "graph_pipeline",
    "iter_pages",
    "read_feed",
]
