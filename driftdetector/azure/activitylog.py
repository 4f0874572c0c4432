"""Who changed what: the latest caller per resource from the Activity Log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest

from .clients import AzureConnection
from .errors import AzureResponseError, translate

API_VERSION = "2015-04-01"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
WRITE_SUFFIXES = ("/write", "/delete", "/action")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _caller(event: dict[str, Any]) -> str:
    claims = event.get("claims") or {}
    return str(event.get("caller") or claims.get(UPN_CLAIM) or claims.get("appid") or "unknown")


def _is_write(event: dict[str, Any]) -> bool:
    operation = str((event.get("operationName") or {}).get("value") or "")
    action = str((event.get("authorization") or {}).get("action") or operation)
    status = str((event.get("status") or {}).get("value") or "")
    return action.lower().endswith(WRITE_SUFFIXES) and status.lower() in ("succeeded", "")


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


def activity_log_callers(
    conn: AzureConnection,
    subscription_id: str,
    start: datetime,
    end: datetime,
) -> dict[str, str]:
    """``{lower-cased resource id: caller of its latest successful write}`` in the window.

    Reads ``Microsoft.Insights/eventtypes/management/values`` and follows ``nextLink``.
    """
    flt = f"eventTimestamp ge '{_iso(start)}' and eventTimestamp le '{_iso(end)}'"
    select = "eventTimestamp,caller,claims,operationName,authorization,resourceId,status"
    url = (
        f"{conn.endpoints.arm_endpoint.rstrip('/')}/subscriptions/{subscription_id}"
        f"/providers/Microsoft.Insights/eventtypes/management/values"
        f"?api-version={API_VERSION}&$filter={quote(flt)}&$select={quote(select)}"
    )
    latest: dict[str, tuple[str, str]] = {}
    page = 0
    next_url: str | None = url
    while next_url:
        page += 1
        what = f"Activity Log page {page} of subscription {subscription_id}"
        body = _get_json(conn, next_url, what)
        for event in body.get("value") or []:
            if not isinstance(event, dict) or not _is_write(event):
                continue
            resource = str(event.get("resourceId") or "").lower()
            stamp = str(event.get("eventTimestamp") or "")
            if resource and (resource not in latest or stamp > latest[resource][0]):
                latest[resource] = (stamp, _caller(event))
        next_url = body.get("nextLink") or None
    return {resource: caller for resource, (_stamp, caller) in latest.items()}


__all__ = ["activity_log_callers"]
