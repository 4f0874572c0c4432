"""Activity Log: one Administrative event per write, served as Azure Monitor returns them."""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .tenants import derived_guid

AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
NAME_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
TENANT_CLAIM = "http://schemas.microsoft.com/identity/claims/tenantid"

_FILTER_TIME = re.compile(r"eventTimestamp\s+(ge|le)\s+'([^']+)'", re.IGNORECASE)
_FILTER_EQ = re.compile(
    r"(resourceId|resourceUri|resourceGroupName)\s+eq\s+'([^']+)'", re.IGNORECASE
)

_OPERATION_NAMES = {
    "write": "Create or Update {kind}",
    "delete": "Delete {kind}",
}


@dataclass(frozen=True)
class Caller:
    """Who made a change: a user (upn) or a service principal (app id)."""

    upn: str | None = None
    object_id: str = ""
    app_id: str = AZURE_CLI_APP_ID
    ip: str = "203.0.113.10"

    @classmethod
    def from_value(cls, value: Any) -> Caller:
        """Accept ``"alice@contoso.com"``, a service principal app id, or a dict."""
        if isinstance(value, Caller):
            return value
        if isinstance(value, dict):
            upn = value.get("upn")
            app_id = str(value.get("app_id") or AZURE_CLI_APP_ID)
            oid = str(value.get("object_id") or derived_guid("oid", upn or app_id))
            return cls(upn, oid, app_id, str(value.get("ip") or "203.0.113.10"))
        text = str(value or "sim-operator@contoso.com")
        if "@" in text:
            return cls(upn=text, object_id=derived_guid("oid", text))
        return cls(upn=None, object_id=derived_guid("oid", text), app_id=text, ip="198.51.100.20")

    @property
    def name(self) -> str:
        """The ``caller`` field: the UPN for users, the object id for service principals."""
        return self.upn or self.object_id

    def claims(self, tenant_id: str) -> dict[str, str]:
        """The claims block of an event."""
        claims = {
            "aud": "https://management.core.windows.net/",
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "appid": self.app_id,
            "appidacr": "0" if self.upn else "1",
            OID_CLAIM: self.object_id,
            TENANT_CLAIM: tenant_id,
            "ipaddr": self.ip,
            "ver": "1.0",
        }
        if self.upn:
            claims[UPN_CLAIM] = self.upn
            claims[NAME_CLAIM] = self.upn
        return claims


def iso(moment: datetime) -> str:
    """Azure's event timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset); naive means UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _provider_and_type(resource_id: str) -> tuple[str, str]:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return "Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups"
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    provider = parts[at + 1]
    type_parts = [provider, *parts[at + 2 :: 2]]
    return provider, "/".join(type_parts)


def make_event(
    tenant_id: str,
    subscription_id: str,
    resource_id: str,
    operation: str,
    caller: Caller,
    when: datetime,
) -> dict[str, Any]:
    """One Activity Log event in the ``eventtypes/management/values`` shape."""
    provider, resource_type = _provider_and_type(resource_id)
    action = f"{resource_type}/{operation}"
    kind = resource_type.split("/")[-1]
    correlation = str(uuid.uuid4())
    event_data_id = str(uuid.uuid4())
    group = ""
    parts = resource_id.split("/")
    if len(parts) > 4 and parts[3].lower() == "resourcegroups":
        group = parts[4]
    ticks = int(when.timestamp() * 10_000_000) + 621355968000000000
    localized = _OPERATION_NAMES.get(operation, "{kind} " + operation).format(kind=kind)
    return {
        "authorization": {"action": action, "scope": resource_id},
        "caller": caller.name,
        "channels": "Operation",
        "claims": caller.claims(tenant_id),
        "correlationId": correlation,
        "description": "",
        "eventDataId": event_data_id,
        "eventName": {"value": "EndRequest", "localizedValue": "End request"},
        "category": {"value": "Administrative", "localizedValue": "Administrative"},
        "eventTimestamp": iso(when),
        "id": f"{resource_id}/events/{event_data_id}/ticks/{ticks}",
        "level": "Informational",
        "operationId": correlation,
        "operationName": {"value": action, "localizedValue": localized},
        "resourceGroupName": group,
        "resourceProviderName": {"value": provider, "localizedValue": provider},
        "resourceType": {"value": resource_type, "localizedValue": resource_type},
        "resourceId": resource_id,
        "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
        "subStatus": {"value": "OK", "localizedValue": "OK (HTTP Status Code: 200)"},
        "submissionTimestamp": iso(when),
        "subscriptionId": subscription_id,
        "tenantId": tenant_id,
        "httpRequest": {
            "clientRequestId": str(uuid.uuid4()),
            "clientIpAddress": caller.ip,
            "method": "DELETE" if operation == "delete" else "PUT",
        },
        "properties": {"statusCode": "OK", "serviceRequestId": str(uuid.uuid4())},
        "relatedEvents": [],
    }


@dataclass
class EventFilter:
    """A parsed ``$filter``: time window plus optional resource / group equality."""

    start: datetime
    end: datetime
    equals: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> EventFilter:
        """Parse ``eventTimestamp ge '..' and eventTimestamp le '..' [and resourceId eq '..']``."""
        bounds = {op.lower(): parse_time(value) for op, value in _FILTER_TIME.findall(text)}
        if "ge" not in bounds:
            raise ValueError("The $filter must contain eventTimestamp ge '<start time>'.")
        end = bounds.get("le", datetime.now(UTC))
        equals = {name.lower(): value.lower() for name, value in _FILTER_EQ.findall(text)}
        return cls(bounds["ge"], end, equals)

    def accepts(self, event: dict[str, Any], when: datetime) -> bool:
        """True when ``event`` (timestamped ``when``) passes the filter."""
        if not self.start <= when <= self.end:
            return False
        for name, value in self.equals.items():
            field_name = "resourceGroupName" if name == "resourcegroupname" else "resourceId"
            if str(event.get(field_name, "")).lower() != value:
                return False
        return True


class ActivityLog:
    """Events per subscription, oldest first in storage, newest first when served."""

    def __init__(self) -> None:
        self._events: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def record(
        self,
        tenant_id: str,
        resource_id: str,
        operation: str,
        caller: Caller,
        when: datetime | None = None,
    ) -> dict[str, Any]:
        """Append the event for a write (``write`` or ``delete``) and return it."""
        subscription = resource_id.split("/")[2].lower()
        moment = when or datetime.now(UTC)
        event = make_event(tenant_id, subscription, resource_id, operation, caller, moment)
        with self._lock:
            self._events.setdefault(subscription, []).append((moment, event))
        return event

    def query(self, subscription_id: str, flt: EventFilter) -> list[dict[str, Any]]:
        """Matching events of one subscription, newest first."""
        with self._lock:
            events = list(self._events.get(subscription_id.lower(), ()))
        return [event for when, event in reversed(events) if flt.accepts(event, when)]

    def forget(self, subscription_ids: list[str]) -> None:
        """Drop the events of these subscriptions."""
        with self._lock:
            for sid in subscription_ids:
                self._events.pop(sid.lower(), None)

    def clear(self) -> None:
        """Drop every event."""
        with self._lock:
            self._events.clear()
