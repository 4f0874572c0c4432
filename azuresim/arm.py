"""Azure Resource Manager: bearer-token checks, throttling headers, subscriptions, Activity Log."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from . import faults
from .activitylog import EventFilter, parse_select, project
from .estate import Estate
from .state import SimState
from .throttle import Decision
from .tokens import TokenError
from .wire import SimRequest, SimResponse, arm_error, json_response, new_request_id


@dataclass
class Principal:
    """The authenticated caller of an ARM request."""

    tenant_id: str
    app_id: str
    object_id: str
    estate: Estate


def base_url(req: SimRequest) -> str:
    """``https://host:port`` as the client addressed us."""
    return f"https://{req.header('Host', '127.0.0.1')}"


def request_headers() -> dict[str, str]:
    """The request-tracking headers every ARM response carries."""
    rid = new_request_id()
    return {
        "x-ms-request-id": rid,
        "x-ms-correlation-request-id": rid,
        "x-ms-routing-request-id": f"WESTEUROPE:20240101T000000Z:{rid}",
        "Cache-Control": "no-cache",
    }


def _unauthorized(req: SimRequest, code: str, message: str) -> SimResponse:
    challenge = (
        f'Bearer authorization_uri="{base_url(req)}/", error="invalid_token", '
        f'error_description="{message}"'
    )
    return arm_error(401, code, message, {"WWW-Authenticate": challenge, **request_headers()})


def authenticate(state: SimState, req: SimRequest) -> Principal | SimResponse:
    """Validate ``Authorization: Bearer <simulator token>``; a 401 response when invalid."""
    header = req.header("Authorization")
    if not header.lower().startswith("bearer "):
        return _unauthorized(
            req,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    try:
        claims = state.signer.verify(header[7:].strip())
    except TokenError as exc:
        code = (
            "ExpiredAuthenticationToken" if "expired" in str(exc) else "InvalidAuthenticationToken"
        )
        return _unauthorized(req, code, f"The access token is invalid. {exc}")
    estate = state.estate(str(claims.get("tid", "")))
    if estate is None:
        return _unauthorized(
            req,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from a tenant '{claims.get('tid')}' that is not known.",
        )
    if "graph.microsoft.com" in str(claims.get("aud", "")):
        return _unauthorized(req, "InvalidAuthenticationTokenAudience", "The audience is invalid.")
    return Principal(estate.spec.tenant_id, str(claims["appid"]), str(claims["oid"]), estate)


def throttled_arm(
    state: SimState, principal: Principal
) -> tuple[dict[str, str], SimResponse | None]:
    """Spend an ARM read token; return the rate-limit headers and a 429 when exhausted."""
    decision: Decision = state.throttle.take("arm", principal.tenant_id, principal.app_id)
    headers = {
        "x-ms-ratelimit-remaining-subscription-reads": str(decision.remaining),
        "x-ms-ratelimit-remaining-tenant-reads": str(decision.remaining),
        **request_headers(),
    }
    if decision.allowed:
        return headers, None
    headers["Retry-After"] = str(max(1, round(decision.retry_after)))
    return headers, arm_error(
        429,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - "
        "Read_ObservationWindow_00:00:10. For more information, see - "
        "https://aka.ms/armthrottling",
        headers,
    )


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError):
        return -1


def _token(offset: int, as_of: datetime | None = None) -> str:
    data: dict[str, Any] = {"o": offset}
    if as_of is not None:
        data["t"] = as_of.timestamp()
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _event_token(token: str | None) -> tuple[int, datetime]:
    """Offset and snapshot time of an Activity Log page: later pages see the same events."""
    if not token:
        return 0, datetime.now(UTC)
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["o"]), datetime.fromtimestamp(float(data["t"]), UTC)
    except (ValueError, KeyError, TypeError):
        return -1, datetime.now(UTC)


def _guard(state: SimState, req: SimRequest) -> tuple[Principal, dict[str, str]] | SimResponse:
    principal = authenticate(state, req)
    if isinstance(principal, SimResponse):
        return principal
    faulted = faults.apply(state.faults, req, principal.tenant_id)
    if faulted is not None:
        return faulted
    headers, refused = throttled_arm(state, principal)
    return refused if refused is not None else (principal, headers)


def list_subscriptions(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /subscriptions``: the token tenant's subscriptions, paged with ``nextLink``."""
    guarded = _guard(state, req)
    if isinstance(guarded, SimResponse):
        return guarded
    principal, headers = guarded
    offset = _offset(req.query.get("$skiptoken"))
    if offset < 0:
        return arm_error(400, "InvalidSkipToken", "The skip token is invalid.", headers)
    size = state.options.subscription_page_size
    everything = principal.estate.subscriptions_arm()
    body: dict[str, Any] = {
        "value": everything[offset : offset + size],
        "count": {"type": "Total", "value": len(everything)},
    }
    if offset + size < len(everything):
        query = {"api-version": req.query.get("api-version", "2022-12-01")}
        query["$skiptoken"] = _token(offset + size)
        body["nextLink"] = f"{base_url(req)}/subscriptions?{urlencode(query)}"
    return json_response(200, body, headers)


def list_activity_events(state: SimState, req: SimRequest, subscription: str) -> SimResponse:
    """``GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values``."""
    guarded = _guard(state, req)
    if isinstance(guarded, SimResponse):
        return guarded
    principal, headers = guarded
    if not principal.estate.owns_subscription(subscription):
        return arm_error(
            403,
            "AuthorizationFailed",
            f"The client '{principal.object_id}' with object id '{principal.object_id}' does not "
            "have authorization to perform action 'microsoft.insights/eventtypes/values/read' "
            f"over scope '/subscriptions/{subscription}' or the scope is invalid.",
            headers,
        )
    text = req.query.get("$filter", "")
    if not text:
        return arm_error(
            400,
            "BadRequest",
            "The $filter query parameter is required: eventTimestamp ge '..'.",
            headers,
        )
    try:
        flt = EventFilter.parse(text)
        fields = parse_select(req.query.get("$select", ""))
    except ValueError as exc:
        return arm_error(400, "BadRequest", str(exc), headers)
    offset, as_of = _event_token(req.query.get("$skiptoken"))
    if offset < 0:
        return arm_error(400, "InvalidSkipToken", "The skip token is invalid.", headers)
    events = state.activity.query(subscription, flt, as_of)
    size = state.options.activity_page_size
    body: dict[str, Any] = {"value": [project(e, fields) for e in events[offset : offset + size]]}
    if offset + size < len(events):
        query = {
            "api-version": req.query.get("api-version", "2015-04-01"),
            "$filter": text,
            "$skiptoken": _token(offset + size, as_of),
        }
        if fields is not None:
            query["$select"] = req.query["$select"]
        body["nextLink"] = (
            f"{base_url(req)}/subscriptions/{subscription}/providers/microsoft.insights/"
            f"eventtypes/management/values?{urlencode(query)}"
        )
    return json_response(200, body, headers)
