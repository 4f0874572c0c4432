"""Microsoft Graph audit logs (``/v1.0/auditLogs/directoryAudits`` and ``signIns``).

Just enough Graph for a preflight to tell granted, missing and unlicensed apart: the app
needs the ``AuditLog.Read.All`` application permission (admin-consented) for both;
sign-in logs also need an Entra ID P1/P2 licence, without which Graph answers 403
``Authentication_RequestFromNonPremiumTenantOrB2CTenant``. Per-tenant access is set with
``PUT /_sim/graph-access``; by default the permission is consented and the tenant licensed.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from . import faults
from .wire import SimRequest, SimResponse, json_response

if TYPE_CHECKING:
    from .state import SimState

AUDIT_PERMISSION = "AuditLog.Read.All"


@dataclass
class GraphAccess:
    """Per tenant id: the consented application permissions and whether it has P1/P2."""

    permissions: dict[str, set[str]] = field(default_factory=dict)
    premium: dict[str, bool] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, tenant_id: str, permissions: list[str] | None, premium: bool | None) -> None:
        with self.lock:
            if permissions is not None:
                self.permissions[tenant_id.lower()] = set(permissions)
            if premium is not None:
                self.premium[tenant_id.lower()] = bool(premium)

    def granted(self, tenant_id: str, permission: str) -> bool:
        return permission in self.permissions.get(tenant_id.lower(), {AUDIT_PERMISSION})

    def licensed(self, tenant_id: str) -> bool:
        return self.premium.get(tenant_id.lower(), True)

    def view(self, tenant_id: str) -> dict[str, Any]:
        perms = self.permissions.get(tenant_id.lower(), {AUDIT_PERMISSION})
        return {"permissions": sorted(perms), "premium": self.licensed(tenant_id)}

    def clear(self) -> None:
        with self.lock:
            self.permissions.clear()
            self.premium.clear()


def graph_error(status: int, code: str, message: str, req: SimRequest) -> SimResponse:
    """Graph's error envelope, with its ``innerError`` block."""
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": req.header("client-request-id", request_id),
            },
        }
    }
    return json_response(status, body, {"request-id": request_id})


def _top(req: SimRequest) -> int:
    text = req.query.get("$top", "")
    if not text:
        return 50
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise ValueError(f"Invalid value '{text}' for $top: use 1 to 1000.")
    return int(text)


def _guard(state: SimState, req: SimRequest) -> tuple[str, int, str] | SimResponse:
    from .arm import authenticate

    principal = authenticate(state, req)
    if isinstance(principal, SimResponse):
        return graph_error(
            401, "InvalidAuthenticationToken", "Access token validation failure.", req
        )
    faulted = faults.apply(state.faults, req, principal.tenant_id)
    if faulted is not None:
        return faulted
    try:
        top = _top(req)
    except ValueError as exc:
        return graph_error(400, "BadRequest", str(exc), req)
    if not state.graph_access.granted(principal.tenant_id, AUDIT_PERMISSION):
        return graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            req,
        )
    return principal.tenant_id, top, principal.app_id


# --- the audit feed ------------------------------------------------------------------------
# Graph answers newest first, up to 1,000 rows a page, with an opaque ``@odata.nextLink``;
# a skip token that Graph no longer accepts is a 400 "Invalid Skip Token" (its transient
# fault, seen by PowerShell and SDK users alike). The reports service allows 5 requests
# per 10 s per app per tenant: a 429 with Retry-After when throttling is enforced.
REPORTS_QUOTA, REPORTS_WINDOW = 5, 10.0
USERS = (
    ("Adele Vance", "adele"),
    ("Alex Wilber", "alex"),
    ("Megan Bowen", "megan"),
    ("Lee Gu", "lee"),
    ("Nestor Wilke", "nestor"),
)
APPS = (
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Browser"),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Mobile Apps and Desktop clients"),
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Exchange ActiveSync"),
    ("Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Mobile Apps and Desktop clients"),
)
PLACES = (
    ("Amsterdam", "Noord-Holland", "NL", 52.37, 4.89, "198.51.100."),
    ("Seattle", "Washington", "US", 47.61, -122.33, "203.0.113."),
    ("Lagos", "Lagos", "NG", 6.45, 3.39, "192.0.2."),
)
# (errorCode, failureReason) of the failed sign-ins the feed produces.
FAILURES = (
    (50126, "Error validating credentials due to invalid username or password."),
    (50074, "Strong Authentication is required."),
    (53003, "Access has been blocked by Conditional Access policies."),
)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_literal(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_time_filter(text: str, field_name: str) -> tuple[datetime | None, datetime | None]:
    """``<field> ge <literal> [and <field> le <literal>]`` -> (from, to); ValueError otherwise."""
    if not text:
        return None, None
    low = high = None
    for clause in text.split(" and "):
        parts = clause.strip().split()
        if len(parts) != 3 or parts[0] != field_name or parts[1] not in ("ge", "gt", "le", "lt"):
            raise ValueError(f"Invalid filter clause: '{clause.strip()}'")
        try:
            moment = _parse_literal(parts[2])
        except ValueError as exc:
            raise ValueError(f"Invalid DateTimeOffset literal '{parts[2]}'") from exc
        if parts[1] in ("ge", "gt"):
            low = moment + timedelta(microseconds=1) if parts[1] == "gt" else moment
        else:
            high = moment - timedelta(microseconds=1) if parts[1] == "lt" else moment
    return low, high


@dataclass
class Stream:
    """One tenant's generated sign-ins and directory audits (row i at ``start + i / rate``)."""

    tenant_id: str
    start: float
    signins_per_minute: float = 2.0
    audits_per_minute: float = 0.5
    extra: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"signIns": [], "directoryAudits": []}
    )
    requests: list[float] = field(default_factory=list)
    max_per_window: int = 0

    def rate(self, entity: str) -> float:
        return self.signins_per_minute if entity == "signIns" else self.audits_per_minute

    def page(
        self,
        entity: str,
        low: datetime | None,
        high: datetime | None,
        now: float,
        offset: int,
        size: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the rows in [low, high], newest first, and the rows' total."""
        per_second = self.rate(entity) / 60.0
        first = last = 0
        if per_second > 0:
            last = int((now - self.start) * per_second)
            first = 0
            if low is not None:
                first = max(0, math.ceil((low.timestamp() - self.start) * per_second))
            if high is not None:
                last = min(last, int((high.timestamp() - self.start) * per_second))
        generated = max(0, last - first + 1) if per_second > 0 else 0
        make = sign_in_row if entity == "signIns" else audit_row
        if not self.extra[entity]:
            if not generated:
                return [], 0
            indices = range(last - offset, max(first, last - offset - size + 1) - 1, -1)
            rows = [make(self.tenant_id, i, self.start + i / per_second) for i in indices]
            return rows, generated
        out: list[tuple[float, dict[str, Any]]] = []
        for index in range(last, first - 1, -1) if generated else ():
            at = self.start + index / per_second
            out.append((at, make(self.tenant_id, index, at)))
        key = "createdDateTime" if entity == "signIns" else "activityDateTime"
        for row in self.extra[entity]:
            try:
                at = _parse_literal(str(row.get(key))).timestamp()
            except ValueError:
                at = now
            if (low is None or at >= low.timestamp()) and (high is None or at <= high.timestamp()):
                out.append((at, row))
        out.sort(key=lambda pair: pair[0], reverse=True)
        return [row for _, row in out[offset : offset + size]], len(out)

    def count_request(self, now: float) -> None:
        self.requests = [t for t in self.requests if now - t < REPORTS_WINDOW]
        self.requests.append(now)
        self.max_per_window = max(self.max_per_window, len(self.requests))


def sign_in_row(tenant_id: str, index: int, at: float) -> dict[str, Any]:
    """A v1.0 signIn object: every 7th fails, every 11th is risky (deterministic by index)."""
    name, alias = USERS[index % len(USERS)]
    app, app_id, client_app = APPS[index % len(APPS)]
    city, region, country, lat, lon, prefix = PLACES[(index // 3) % len(PLACES)]
    failed = index % 7 == 3
    risky = index % 11 == 5
    code, reason = FAILURES[index % len(FAILURES)] if failed else (0, None)
    risk = "high" if risky and index % 2 else ("medium" if risky else "none")
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/signin/{index}")),
        "createdDateTime": _when(datetime.fromtimestamp(at, UTC)),
        "userDisplayName": name,
        "userPrincipalName": f"{alias}@contoso.example",
        "userId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/user/{alias}")),
        "appId": app_id,
        "appDisplayName": app,
        "ipAddress": f"{prefix}{10 + index % 200}",
        "clientAppUsed": client_app,
        "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/corr/{index}")),
        "conditionalAccessStatus": "failure" if code == 53003 else "success",
        "isInteractive": True,
        "riskDetail": "none",
        "riskLevelAggregated": risk,
        "riskLevelDuringSignIn": risk,
        "riskState": "atRisk" if risky else "none",
        "riskEventTypes_v2": ["unfamiliarFeatures"] if risky else [],
        "resourceDisplayName": "Windows Azure Service Management API",
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "status": {
            "errorCode": code,
            "failureReason": reason or "Other.",
            "additionalDetails": "MFA requirement satisfied by claim in the token"
            if not failed
            else None,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": "",
            "operatingSystem": "Windows 10",
            "browser": "Edge 120.0.0",
            "isCompliant": False,
            "isManaged": False,
            "trustType": "",
        },
        "location": {
            "city": city,
            "state": region,
            "countryOrRegion": country,
            "geoCoordinates": {"altitude": None, "latitude": lat, "longitude": lon},
        },
        "appliedConditionalAccessPolicies": [],
    }


def audit_row(tenant_id: str, index: int, at: float) -> dict[str, Any]:
    """A v1.0 directoryAudit object."""
    name, alias = USERS[index % len(USERS)]
    activity, category, op = (
        ("Update user", "UserManagement", "Update"),
        ("Add member to group", "GroupManagement", "Assign"),
        ("Add app role assignment to service principal", "ApplicationManagement", "Assign"),
    )[index % 3]
    return {
        "id": f"Directory_{uuid.uuid5(uuid.NAMESPACE_URL, f'{tenant_id}/audit/{index}')}",
        "category": category,
        "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/acorr/{index}")),
        "result": "failure" if index % 9 == 4 else "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": _when(datetime.fromtimestamp(at, UTC)),
        "loggedByService": "Core Directory",
        "operationType": op,
        "initiatedBy": {
            "app": None,
            "user": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/user/admin")),
                "displayName": None,
                "userPrincipalName": "admin@contoso.example",
                "ipAddress": "203.0.113.10",
            },
        },
        "targetResources": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/user/{alias}")),
                "displayName": name,
                "type": "User",
                "userPrincipalName": f"{alias}@contoso.example",
                "modifiedProperties": [],
            }
        ],
        "additionalDetails": [],
    }


class AuditFeed:
    """Every tenant's stream, the skip tokens' validity and the reports-service throttle."""

    def __init__(self, backfill_minutes: float = 60.0) -> None:
        self.backfill = backfill_minutes * 60
        self.streams: dict[str, Stream] = {}
        self.tokens_valid_after = 0.0
        self.refuse_skiptokens = 0
        self.enforce = False
        self.windows: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def stream(self, tenant_id: str) -> Stream:
        with self.lock:
            key = tenant_id.lower()
            if key not in self.streams:
                self.streams[key] = Stream(key, time.time() - self.backfill)
            return self.streams[key]

    def configure(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        stream = self.stream(tenant_id)
        with self.lock:
            for key in ("signins_per_minute", "audits_per_minute"):
                if key in body:
                    setattr(stream, key, float(body[key]))
            if "backfill_minutes" in body:
                stream.start = time.time() - float(body["backfill_minutes"]) * 60
            for entity in ("signIns", "directoryAudits"):
                stream.extra[entity].extend(body.get(f"extra_{entity}") or [])
            if body.get("invalidate_skiptokens"):
                self.tokens_valid_after = time.time()
            if "refuse_skiptokens" in body:
                self.refuse_skiptokens = int(body["refuse_skiptokens"])
            if "enforce_throttling" in body:
                self.enforce = bool(body["enforce_throttling"])
            if body.get("reset_counters"):
                stream.requests.clear()
                stream.max_per_window = 0
        return self.view(tenant_id)

    def view(self, tenant_id: str) -> dict[str, Any]:
        stream = self.stream(tenant_id)
        return {
            "signins_per_minute": stream.signins_per_minute,
            "audits_per_minute": stream.audits_per_minute,
            "max_requests_per_10s": stream.max_per_window,
            "enforce_throttling": self.enforce,
        }

    def admit(self, tenant_id: str, app_id: str) -> float:
        """Count a request; the seconds to wait when the 5 / 10 s window is full (enforced)."""
        now = time.time()
        stream = self.stream(tenant_id)
        with self.lock:
            stream.count_request(now)
            key = f"{tenant_id.lower()}:{app_id.lower()}"
            window = [t for t in self.windows.get(key, []) if now - t < REPORTS_WINDOW]
            if self.enforce and len(window) >= REPORTS_QUOTA:
                self.windows[key] = window
                return REPORTS_WINDOW - (now - window[0])
            window.append(now)
            self.windows[key] = window
            return 0.0

    def take_refusal(self) -> bool:
        """True (once per count) while ``refuse_skiptokens`` asks to refuse skip tokens."""
        with self.lock:
            if self.refuse_skiptokens > 0:
                self.refuse_skiptokens -= 1
                return True
            return False

    def forget(self, tenant_id: str) -> None:
        """Drop a removed tenant's stream (a tenant registered again starts afresh)."""
        with self.lock:
            self.streams.pop(tenant_id.lower(), None)

    def clear(self) -> None:
        with self.lock:
            self.refuse_skiptokens = 0
            self.streams.clear()
            self.windows.clear()
            self.enforce = False
            self.tokens_valid_after = 0.0


def _encode_token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode_token(text: str) -> dict[str, Any]:
    padded = text + "=" * (-len(text) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(data, dict):
        raise ValueError("not a token")
    return data


def _serve(state: SimState, req: SimRequest, entity: str, time_field: str) -> SimResponse:
    guarded = _guard(state, req)
    if isinstance(guarded, SimResponse):
        return guarded
    tenant_id, top, app_id = guarded
    if entity == "signIns" and not state.graph_access.licensed(tenant_id):
        return graph_error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
            req,
        )
    wait = state.audit_feed.admit(tenant_id, app_id)
    if wait > 0:
        response = graph_error(
            429, "TooManyRequests", "Too many requests. Please try again later.", req
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    now = time.time()
    offset, snapshot = 0, now
    token = req.query.get("$skiptoken")
    if token:
        try:
            data = _decode_token(token)
            offset, snapshot, issued = int(data["o"]), float(data["s"]), float(data["t"])
        except (ValueError, KeyError, TypeError):
            return graph_error(400, "", "Invalid Skip Token", req)
        if issued < state.audit_feed.tokens_valid_after or state.audit_feed.take_refusal():
            return graph_error(400, "", "Invalid Skip Token", req)
    try:
        low, high = parse_time_filter(req.query.get("$filter", ""), time_field)
    except ValueError as exc:
        return graph_error(400, "BadRequest", str(exc), req)
    page, total = state.audit_feed.stream(tenant_id).page(entity, low, high, snapshot, offset, top)
    base = f"https://{req.header('Host', '127.0.0.1')}/v1.0"
    body: dict[str, Any] = {"@odata.context": f"{base}/$metadata#auditLogs/{entity}"}
    if offset + top < total:
        query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = _encode_token({"o": offset + top, "s": snapshot, "t": now})
        body["@odata.nextLink"] = f"{base}/auditLogs/{entity}?{urlencode(query)}"
    body["value"] = page
    return json_response(200, body)


def directory_audits(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /v1.0/auditLogs/directoryAudits``: the tenant's stream of directory audits."""
    return _serve(state, req, "directoryAudits", "activityDateTime")


def sign_ins(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /v1.0/auditLogs/signIns``: needs the permission and an Entra ID P1/P2 licence."""
    return _serve(state, req, "signIns", "createdDateTime")
