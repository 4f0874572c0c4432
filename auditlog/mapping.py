"""Graph audit objects -> SigningLog fields, and SigningLog rows -> ECS documents.

Pure: nothing from Django. A Graph object with missing fields or enum values this code
does not know is still stored (the raw object is kept whole in ``log_data["raw"]``) and
what was odd about it is listed in ``log_data["warnings"]``; nothing is dropped.
The ECS mapping follows Elastic's own Azure sign-in pipeline (event.category
authentication, event.outcome from status.errorCode, user.name / user.domain from the
UPN, source.ip and source.geo, azure.tenant_id, azure.correlation_id).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

SOURCE_SIGNIN = "azure_signin"
SOURCE_DIRECTORY = "azure_directory"
SOURCE_PLATFORM = "platform"

CA_STATUSES = {"success", "failure", "notApplied", "unknownFutureValue"}
RISK_LEVELS = {"none", "low", "medium", "high", "hidden", "unknownFutureValue"}
AUDIT_RESULTS = {"success", "failure", "timeout", "unknownFutureValue"}
RISKY = {"medium", "high"}
# The SigningLog fields an ECS document is made from.
DOCUMENT_FIELDS = (
    "source",
    "log_id",
    "timestamp",
    "actor",
    "action",
    "resource",
    "status",
    "client_ip",
    "log_data",
)


def parse_graph_time(value: Any) -> datetime | None:
    """Graph's ``...Z`` timestamps (up to 7 fractional digits) -> aware datetime, or None."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    date_part, _, rest = text.partition("T")
    if "." in rest:
        whole, _, tail = rest.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = f"{whole}.{digits[:6]}{tail[len(digits) :]}"
    try:
        moment = datetime.fromisoformat(f"{date_part}T{rest}")
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ip(value: Any, warnings: list[str]) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        warnings.append(f"ipAddress '{str(value)[:60]}' is not an IP address")
        return None


def _text(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _log_id(obj: dict[str, Any], warnings: list[str]) -> str:
    value = obj.get("id")
    if isinstance(value, str) and value.strip():
        return value.strip()[:100]
    warnings.append("no id: derived from the object's content")
    canonical = json.dumps(obj, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:64]


def _when(obj: dict[str, Any], key: str, now: datetime, warnings: list[str]) -> datetime:
    moment = parse_graph_time(obj.get(key))
    if moment is None:
        warnings.append(f"{key} missing or unreadable: ingest time used")
        return now
    return moment


def _enum(value: Any, allowed: set[str], name: str, warnings: list[str]) -> str:
    text = _text(value, 40)
    if text and text not in allowed:
        warnings.append(f"{name} '{text}' is not a known value")
    return text


def sign_in_fields(obj: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """SigningLog fields of a Graph v1.0 ``signIn`` object."""
    warnings: list[str] = []
    status = _dict(obj.get("status"))
    code = status.get("errorCode")
    if isinstance(code, bool) or not isinstance(code, int):
        if code is not None:
            warnings.append(f"status.errorCode '{str(code)[:30]}' is not a number")
        outcome, code = "unknown", None
    else:
        outcome = "success" if code == 0 else "failure"
    location = _dict(obj.get("location"))
    geo = _dict(location.get("geoCoordinates"))
    risk = _enum(
        obj.get("riskLevelDuringSignIn") or obj.get("riskLevelAggregated"),
        RISK_LEVELS,
        "riskLevelDuringSignIn",
        warnings,
    )
    actor = _text(obj.get("userPrincipalName") or obj.get("userId"), 255) or "(unknown)"
    details = {
        "user_id": _text(obj.get("userId"), 64),
        "user_display_name": _text(obj.get("userDisplayName"), 255),
        "app_id": _text(obj.get("appId"), 64),
        "app": _text(obj.get("appDisplayName"), 255),
        "error_code": code,
        "failure_reason": _text(status.get("failureReason"), 500) if outcome == "failure" else "",
        "location": {
            "city": _text(location.get("city"), 100),
            "state": _text(location.get("state"), 100),
            "country": _text(location.get("countryOrRegion"), 10),
            "lat": geo.get("latitude") if isinstance(geo.get("latitude"), int | float) else None,
            "lon": geo.get("longitude") if isinstance(geo.get("longitude"), int | float) else None,
        },
        "conditional_access": _enum(
            obj.get("conditionalAccessStatus"), CA_STATUSES, "conditionalAccessStatus", warnings
        ),
        "risk_level": risk,
        "risk_state": _text(obj.get("riskState"), 40),
        "client_app": _text(obj.get("clientAppUsed"), 100),
        "correlation_id": _text(obj.get("correlationId"), 64),
    }
    log_id = _log_id(obj, warnings)
    return {
        "log_id": log_id,
        "timestamp": _when(obj, "createdDateTime", now, warnings),
        "actor": actor,
        "action": "azure.signin",
        "resource": details["app"],
        "status": outcome,
        "client_ip": _ip(obj.get("ipAddress"), warnings),
        "log_data": {**details, "risky": risk in RISKY, "warnings": warnings, "raw": obj},
    }


def directory_audit_fields(obj: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """SigningLog fields of a Graph v1.0 ``directoryAudit`` object."""
    warnings: list[str] = []
    initiated = _dict(obj.get("initiatedBy"))
    user = _dict(initiated.get("user"))
    app = _dict(initiated.get("app"))
    actor = _text(user.get("userPrincipalName") or app.get("displayName") or app.get("appId"), 255)
    targets = [t for t in obj.get("targetResources") or [] if isinstance(t, dict)]
    target = targets[0] if targets else {}
    result = _enum(obj.get("result"), AUDIT_RESULTS, "result", warnings)
    log_id = _log_id(obj, warnings)
    return {
        "log_id": log_id,
        "timestamp": _when(obj, "activityDateTime", now, warnings),
        "actor": actor or "(unknown)",
        "action": _text(obj.get("activityDisplayName"), 100) or "(unknown activity)",
        "resource": _text(target.get("userPrincipalName") or target.get("displayName"), 500),
        "status": result or "unknown",
        "client_ip": _ip(user.get("ipAddress"), warnings),
        "log_data": {
            "category": _text(obj.get("category"), 100),
            "operation_type": _text(obj.get("operationType"), 50),
            "result_reason": _text(obj.get("resultReason"), 500),
            "logged_by": _text(obj.get("loggedByService"), 100),
            "correlation_id": _text(obj.get("correlationId"), 64),
            "warnings": warnings,
            "raw": obj,
        },
    }


def document_id(schema: str, source: str, log_id: str) -> str:
    """The Elasticsearch ``_id``: the same row always gets the same id (a resend is a 409)."""
    return f"{schema}:{source}:{log_id}"


def _outcome(status: str) -> str:
    status = (status or "").lower()
    if status in ("success", "succeeded"):
        return "success"
    if status in ("failure", "failed", "denied", "timeout"):
        return "failure"
    return "unknown"


def ecs_document(
    *,
    source: str,
    log_id: str,
    timestamp: datetime,
    actor: str,
    action: str,
    resource: str,
    status: str,
    client_ip: str | None,
    log_data: dict[str, Any],
    tenant_id: str,
    tenant_name: str,
    created: datetime | None = None,
) -> dict[str, Any]:
    """An ECS document for one SigningLog row (the raw Graph object is not shipped)."""
    user: dict[str, Any] = {"name": actor}
    if "@" in actor:
        user["domain"] = actor.split("@", 1)[1]
    doc: dict[str, Any] = {
        "@timestamp": timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "event": {
            "kind": "event",
            "id": log_id,
            "action": action,
            "outcome": _outcome(status),
        },
        "user": user,
        "organization": {"id": tenant_id, "name": tenant_name},
        "cloud": {"provider": "azure", "account": {"id": tenant_id}},
        "message": f"{actor} {action} {resource}".strip(),
        "labels": {"source": source},
    }
    if created is not None:
        doc["event"]["created"] = created.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if client_ip:
        doc["source"] = {"ip": client_ip}
    if source == SOURCE_SIGNIN:
        doc["event"].update(
            {"category": ["authentication"], "type": ["start"], "dataset": "azure.signinlogs"}
        )
        if log_data.get("user_id"):
            user["id"] = log_data["user_id"]
        location = _dict(log_data.get("location"))
        geo = {
            "city_name": location.get("city") or None,
            "region_name": location.get("state") or None,
            "country_iso_code": location.get("country") or None,
        }
        if location.get("lat") is not None and location.get("lon") is not None:
            geo["location"] = {"lat": location["lat"], "lon": location["lon"]}
        geo = {k: v for k, v in geo.items() if v is not None}
        if geo:
            doc.setdefault("source", {})["geo"] = geo
        doc["azure"] = {
            "tenant_id": tenant_id,
            "correlation_id": log_data.get("correlation_id") or None,
            "signinlogs": {
                "properties": {
                    "app_display_name": log_data.get("app"),
                    "app_id": log_data.get("app_id"),
                    "client_app_used": log_data.get("client_app"),
                    "conditional_access_status": log_data.get("conditional_access"),
                    "risk_level_during_signin": log_data.get("risk_level"),
                    "risk_state": log_data.get("risk_state"),
                    "status": {
                        "error_code": log_data.get("error_code"),
                        "failure_reason": log_data.get("failure_reason") or None,
                    },
                }
            },
        }
        if log_data.get("error_code"):
            doc["error"] = {"code": str(log_data["error_code"])}
    elif source == SOURCE_DIRECTORY:
        doc["event"].update({"category": ["iam"], "type": ["change"], "dataset": "azure.auditlogs"})
        doc["azure"] = {
            "tenant_id": tenant_id,
            "correlation_id": log_data.get("correlation_id") or None,
            "auditlogs": {
                "category": log_data.get("category"),
                "operation_name": action,
                "properties": {"target_resources": resource},
            },
        }
    else:
        doc["event"].update(
            {"category": ["configuration"], "type": ["change"], "dataset": "driftdetector.audit"}
        )
        doc["driftdetector"] = {
            "object_type": log_data.get("object_type"),
            "object_id": log_data.get("object_id"),
            "changes": log_data.get("changes"),
            "request_id": log_data.get("request_id"),
            "resource": resource,
        }
    return doc
