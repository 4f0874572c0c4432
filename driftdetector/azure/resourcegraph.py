"""Listing subscriptions and streaming a tenant's estate from Resource Graph, page by page."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import AzureError
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from .clients import AzureConnection
from .errors import AzureResponseError, translate

DEFAULT_QUERY = (
    "resources\n"
    "| union resourcecontainers, authorizationresources, policyresources\n"
    "| order by id asc"
)
MAX_PAGE_SIZE = 1000
MAX_SUBSCRIPTIONS_PER_QUERY = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class SubscriptionInfo:
    """A subscription the app registration can see."""

    subscription_id: str
    display_name: str
    state: str


@dataclass(frozen=True)
class ResourcePage:
    """One Resource Graph page.

    ``subscriptions`` are the subscriptions the query covers; when ``batch_complete`` is
    True this was the last page for them, so they have been listed completely.
    """

    number: int
    rows: list[dict[str, Any]]
    subscriptions: tuple[str, ...]
    total_records: int
    batch_complete: bool


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (AzureError, ValueError) as exc:
        raise translate(exc, what) from exc


def list_subscriptions(conn: AzureConnection) -> list[SubscriptionInfo]:
    """Every subscription visible to the connection's principal (follows nextLink)."""

    def fetch() -> list[SubscriptionInfo]:
        return [
            SubscriptionInfo(
                subscription_id=str(sub.subscription_id),
                display_name=str(sub.display_name or ""),
                state=str(getattr(sub.state, "value", sub.state) or ""),
            )
            for sub in conn.subscription_client.subscriptions.list()
        ]

    return _call(f"listing subscriptions of tenant {conn.tenant_id}", fetch)


def iter_resource_pages(
    conn: AzureConnection,
    subscriptions: Sequence[str] | None = None,
    *,
    query: str = DEFAULT_QUERY,
    page_size: int = MAX_PAGE_SIZE,
    subscriptions_per_query: int = MAX_SUBSCRIPTIONS_PER_QUERY,
) -> Iterator[ResourcePage]:
    """Yield Resource Graph pages one at a time via ``$skipToken``; never the whole estate.

    ``query`` must sort by id (Resource Graph pages are only stable that way). Subscriptions
    are listed first unless given. Failures raise a subclass of AzureAccessError; pages
    yielded before the failure remain valid, but their batch is not complete.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if subscriptions is None:
        subscriptions = [s.subscription_id for s in list_subscriptions(conn)]
    ordered = sorted({s.lower() for s in subscriptions})
    step = max(1, min(subscriptions_per_query, MAX_SUBSCRIPTIONS_PER_QUERY))
    number = 0
    for start in range(0, len(ordered), step):
        batch = tuple(ordered[start : start + step])
        skip_token: str | None = None
        while True:
            request = QueryRequest(
                subscriptions=list(batch),
                query=query,
                options=QueryRequestOptions(
                    top=page_size, skip_token=skip_token, result_format="objectArray"
                ),
            )
            number += 1
            what = f"Resource Graph page {number} of tenant {conn.tenant_id}"
            response = _call(what, lambda req=request: conn.graph_client.resources(req))
            if str(response.result_truncated).lower() == "true":
                raise AzureResponseError(
                    f"{what}: Resource Graph truncated the result; the query must sort by id"
                )
            rows = response.data if isinstance(response.data, list) else None
            if rows is None:
                raise AzureResponseError(f"{what}: expected an objectArray result")
            skip_token = response.skip_token or None
            yield ResourcePage(
                number=number,
                rows=rows,
                subscriptions=batch,
                total_records=int(response.total_records or 0),
                batch_complete=skip_token is None,
            )
            if skip_token is None:
                break


__all__ = [
    "DEFAULT_QUERY",
    "ResourcePage",
    "SubscriptionInfo",
    "iter_resource_pages",
    "list_subscriptions",
]
