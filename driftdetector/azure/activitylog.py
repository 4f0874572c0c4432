"""Who changed what: Succeeded writes and deletes from the Activity Log, and their callers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest

from .clients import AzureConnection
from .errors import AzureResponseError, translate

API_VERSION = "2015-04-01"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
NAME_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
# Operations that change a resource. A POST ``.../action`` (listKeys, restart, ...) may not
# change its configuration at all, so it never names the author of a change.
CHANGE_SUFFIXES = ("/write", "/delete")
# Only fields the spec allows in $select (``caller`` is not one of them: the claims are).
SELECT = (
    "eventTimestamp,submissionTimestamp,claims,operationName,authorization,resourceId,"
    "status,correlationId"
)
# How long Azure keeps Activity Log events.
RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class ChangeEvent:
    """A Succeeded write or delete: who did it, to what, when."""

    resource_id: str
    caller: str
    at: datetime
    operation: str


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, _, zone = text.partition("+")
    if "." in head:  # Azure sends 7 fractional digits; Python reads at most 6
        whole, fraction = head.split(".", 1)
        head = f"{whole}.{fraction[:6]}"
    try:
        moment = datetime.fromisoformat(f"{head}+{zone}" if zone else head)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_caller(event: dict[str, Any]) -> str:
    """Who made a change: the UPN for a user, the app id for a service principal.

    Read from the claims (``caller`` cannot be $select-ed); ``caller`` is a fallback when
    a full event was returned.
    """
    claims = event.get("claims") or {}
    if not isinstance(claims, dict):
        claims = {}
    name = str(claims.get(NAME_CLAIM) or "")
    return str(
        claims.get(UPN_CLAIM)
        or (name if "@" in name else "")
        or claims.get("appid")
        or event.get("caller")
        or claims.get(OID_CLAIM)
        or "unknown"
    )


def change_event(event: dict[str, Any]) -> ChangeEvent | None:
    """The event as a :class:`ChangeEvent` when it records a Succeeded write or delete.

    Started and Accepted events precede the outcome, Failed ones changed nothing, and an
    ``/action`` reads or operates without necessarily changing the configuration.
    """
    operation = str((event.get("operationName") or {}).get("value") or "")
    action = str((event.get("authorization") or {}).get("action") or operation)
    status = str((event.get("status") or {}).get("value") or "")
    if status.lower() != "succeeded" or not action.lower().endswith(CHANGE_SUFFIXES):
        return None
    resource = str(event.get("resourceId") or "").lower()
    at = _parse_time(str(event.get("eventTimestamp") or ""))
    if not resource or at is None:
        return None
    return ChangeEvent(resource, event_caller(event), at, action.lower())


def _get_json(conn: AzureConnection, url: str, what: str) -> dict[str, Any]:
    try:
        response = conn.arm_pipeline.send_request(HttpRequest("GET", url))
        response.raise_for_status()
    except (AzureError, ValueError) as exc:
        raise translate(exc, what) from exc
    try:
        body = json.loads(response.text())
    except ValueError as exc:
        raise AzureResponseError(f"{what}: Azure returned a body that is not valid JSON") from exc
    if not isinstance(body, dict):
        raise AzureResponseError(f"{what}: expected a JSON object")
    return body


def iter_change_events(
    conn: AzureConnection,
    subscription_id: str,
    start: datetime,
    end: datetime,
) -> Iterator[ChangeEvent]:
    """Succeeded writes and deletes of a subscription in ``[start, end]``, newest first.

    Reads ``Microsoft.Insights/eventtypes/management/values`` with the spec's time-range
    ``$filter`` and ``$select``, following ``nextLink``.
    """
    # Whole seconds: widen the window outwards so no event at its edges is lost.
    end = end + timedelta(seconds=1) if end.microsecond else end
    flt = f"eventTimestamp ge '{_iso(start)}' and eventTimestamp le '{_iso(end)}'"
    url: str | None = (
        f"{conn.endpoints.arm_endpoint.rstrip('/')}/subscriptions/{subscription_id}"
        f"/providers/Microsoft.Insights/eventtypes/management/values"
        f"?api-version={API_VERSION}&$filter={quote(flt)}&$select={quote(SELECT)}"
    )
    page = 0
    while url:
        page += 1
        body = _get_json(conn, url, f"Activity Log page {page} of subscription {subscription_id}")
        for event in body.get("value") or []:
            change = change_event(event) if isinstance(event, dict) else None
            if change is not None:
                yield change
        url = body.get("nextLink") or None


def probe_activity_log(conn: AzureConnection, subscription_id: str, since: datetime) -> int:
    """Read the first Activity Log page of a subscription since ``since``; its event count.

    A cheap read-access check (the preflight): raises AzureAccessError as a pass would.
    """
    flt = f"eventTimestamp ge '{_iso(since)}'"
    url = (
        f"{conn.endpoints.arm_endpoint.rstrip('/')}/subscriptions/{subscription_id}"
        f"/providers/Microsoft.Insights/eventtypes/management/values"
        f"?api-version={API_VERSION}&$filter={quote(flt)}&$select={quote(SELECT)}"
    )
    body = _get_json(conn, url, f"Activity Log of subscription {subscription_id}")
    return len(body.get("value") or [])


def activity_log_callers(
    conn: AzureConnection,
    subscription_id: str,
    start: datetime,
    end: datetime,
) -> dict[str, str]:
    """``{lower-cased resource id: caller of its latest Succeeded write}`` in the window."""
    latest: dict[str, ChangeEvent] = {}
    for change in iter_change_events(conn, subscription_id, start, end):
        known = latest.get(change.resource_id)
        if known is None or change.at > known.at:
            latest[change.resource_id] = change
    return {resource: change.caller for resource, change in latest.items()}


__all__ = [
    "ChangeEvent",
    "activity_log_callers",
    "change_event",
    "iter_change_events",
    "probe_activity_log",
]
