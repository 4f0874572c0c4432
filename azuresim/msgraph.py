"""Microsoft Graph audit logs (``/v1.0/auditLogs/directoryAudits`` and ``signIns``).

Just enough Graph for a preflight to tell granted, missing and unlicensed apart: the app
needs the ``AuditLog.Read.All`` application permission (admin-consented) for both;
sign-in logs also need an Entra ID P1/P2 licence, without which Graph answers 403
``Authentication_RequestFromNonPremiumTenantOrB2CTenant``. Per-tenant access is set with
``PUT /_sim/graph-access``; by default the permission is consented and the tenant licensed.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

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


def _guard(state: SimState, req: SimRequest) -> tuple[str, int] | SimResponse:
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
    return principal.tenant_id, top


def _page(req: SimRequest, entity: str, rows: list[dict[str, Any]]) -> SimResponse:
    base = f"https://{req.header('Host', '127.0.0.1')}/v1.0"
    return json_response(
        200, {"@odata.context": f"{base}/$metadata#auditLogs/{entity}", "value": rows}
    )


def directory_audits(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /v1.0/auditLogs/directoryAudits``: one synthetic audit record per tenant."""
    guarded = _guard(state, req)
    if isinstance(guarded, SimResponse):
        return guarded
    tenant_id, top = guarded
    when = datetime.now(UTC) - timedelta(hours=1)
    row = {
        "id": f"Directory_{uuid.uuid5(uuid.NAMESPACE_URL, tenant_id)}",
        "category": "UserManagement",
        "correlationId": str(uuid.uuid4()),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": "Update user",
        "activityDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "loggedByService": "Core Directory",
        "operationType": "Update",
        "initiatedBy": {
            "app": None,
            "user": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/admin")),
                "displayName": None,
                "userPrincipalName": "admin@contoso.example",
                "ipAddress": "203.0.113.10",
            },
        },
        "targetResources": [],
        "additionalDetails": [],
    }
    return _page(req, "directoryAudits", [row][:top])


def sign_ins(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /v1.0/auditLogs/signIns``: needs the permission and an Entra ID P1/P2 licence."""
    guarded = _guard(state, req)
    if isinstance(guarded, SimResponse):
        return guarded
    tenant_id, top = guarded
    if not state.graph_access.licensed(tenant_id):
        return graph_error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
            req,
        )
    when = datetime.now(UTC) - timedelta(minutes=30)
    row = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/signin")),
        "createdDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userDisplayName": "Admin",
        "userPrincipalName": "admin@contoso.example",
        "appDisplayName": "Azure Portal",
        "ipAddress": "203.0.113.10",
        "status": {"errorCode": 0, "failureReason": None, "additionalDetails": None},
    }
    return _page(req, "signIns", [row][:top])
