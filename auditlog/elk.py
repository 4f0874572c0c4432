"""The Elasticsearch ``_bulk`` API, as the forwarder needs it. Pure: nothing from Django.

Plain HTTP with requests rather than the ``elasticsearch`` client: its 9.x line refuses
8.x servers and 8.x sends headers 7.x rejects, while ``_bulk`` with NDJSON is the same on
Elasticsearch 7.10+, 8.x, 9.x and OpenSearch 1.x/2.x. Every document is sent with
``op_type`` create and a deterministic ``_id``: a resend answers 409, which means "already
there". Each item's outcome is classified on its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

SHIPPED = "shipped"  # 201: created
ALREADY_THERE = "already_there"  # 409: a document with this _id exists (an earlier send)
RETRY = "retry"  # 429 / 5xx for this item: send it again later
PARKED = "parked"  # any other refusal (mapping error, ...): resending would fail the same way


class BulkRequestError(Exception):
    """The ``_bulk`` request as a whole failed (unreachable, 429, 5xx, not Elasticsearch)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ItemOutcome:
    """What the cluster said about one document."""

    doc_id: str
    result: str
    status: int
    error: str = ""


@dataclass(frozen=True)
class ElkTarget:
    """Where and how to send: base URL, index (or data stream), credentials, TLS."""

    url: str
    index: str
    api_key: str = ""
    username: str = ""
    password: str = ""
    verify: str | bool = True
    timeout: float = 30.0


def ndjson(index: str, docs: Sequence[tuple[str, dict[str, Any]]]) -> bytes:
    """The ``_bulk`` body: an action line and a source line per document."""
    lines: list[str] = []
    for doc_id, doc in docs:
        lines.append(json.dumps({"create": {"_index": index, "_id": doc_id}}))
        lines.append(json.dumps(doc, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n").encode()


def classify(status: int) -> str:
    """The forwarder's verdict on one item's HTTP status."""
    if 200 <= status < 300:
        return SHIPPED
    if status == 409:
        return ALREADY_THERE
    if status == 429 or status >= 500:
        return RETRY
    return PARKED


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type', '')}: {cause.get('reason', '')})"
        return text[:2000]
    return str(error or "")[:2000]


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def bulk_create(
    session: requests.Session, target: ElkTarget, docs: Sequence[tuple[str, dict[str, Any]]]
) -> list[ItemOutcome]:
    """Send ``docs`` (``(_id, source)`` pairs) in one ``_bulk`` request; one outcome each.

    Raises :class:`BulkRequestError` when the request as a whole failed; then nothing may
    be assumed shipped.
    """
    headers = {"Content-Type": "application/x-ndjson", "Accept": "application/json"}
    if target.api_key:
        headers["Authorization"] = f"ApiKey {target.api_key}"
    auth = (target.username, target.password) if target.username else None
    url = f"{target.url.rstrip('/')}/_bulk"
    try:
        response = session.post(
            url,
            data=ndjson(target.index, docs),
            headers=headers,
            auth=auth,
            timeout=target.timeout,
            verify=target.verify,
        )
    except requests.RequestException as exc:
        raise BulkRequestError(f"Elasticsearch unreachable: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        raise BulkRequestError(
            f"Elasticsearch answered {response.status_code} to _bulk: {response.text[:300]}",
            retry_after=_retry_after(response),
        )
    try:
        body = response.json()
        items = body["items"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BulkRequestError("Elasticsearch's _bulk answer is not a bulk response") from exc
    if not isinstance(items, list) or len(items) != len(docs):
        raise BulkRequestError(
            f"Elasticsearch answered {len(items) if isinstance(items, list) else 'no'} items "
            f"for {len(docs)} documents"
        )
    outcomes: list[ItemOutcome] = []
    for (doc_id, _), item in zip(docs, items, strict=True):
        action = item.get("create") if isinstance(item, dict) else None
        if not isinstance(action, dict):
            outcomes.append(ItemOutcome(doc_id, RETRY, 0, "item without a create result"))
            continue
        status = int(action.get("status") or 0)
        outcomes.append(ItemOutcome(doc_id, classify(status), status, _reason(action.get("error"))))
    return outcomes
