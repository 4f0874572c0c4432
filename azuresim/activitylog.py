"""Activity Log: one Administrative event per write, served as Azure Monitor returns them."""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .tenants import derived_guid

AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
NAME_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
TENANT_CLAIM = "http://schemas.microsoft.com/identity/claims/tenantid"

# The $filter grammar of ActivityLogs_List (2015-04-01): a time range, optionally ANDed with
# one equality on resourceGroupName, resourceUri, resourceProvider or correlationId. "No
# other syntax is allowed." (``resourceId`` is kept as the alias older clients send.)
_TIME = r"eventTimestamp\s+(?P<op{n}>ge|le)\s+'(?P<t{n}>[^']+)'"
_FILTER = re.compile(
    r"^\s*" + _TIME.format(n=1) + r"(?:\s+and\s+" + _TIME.format(n=2) + r")?"
    r"(?:\s+and\s+(?P<field>resourceGroupName|resourceUri|resourceId|resourceProvider|"
    r"correlationId)\s+eq\s+'(?P<value>[^']*)')?\s*$",
    re.IGNORECASE,
)
# The $select values the spec lists; anything else is refused (caller, category, id, ...).
SELECTABLE = (
    "authorization",
    "claims",
    "correlationId",
    "description",
    "eventDataId",
    "eventName",
    "eventTimestamp",
    "httpRequest",
    "level",
    "operationId",
    "operationName",
    "properties",
    "resourceGroupName",
    "resourceProviderName",
    "resourceId",
    "status",
    "submissionTimestamp",
    "subStatus",
    "subscriptionId",
)
_SELECTABLE = {name.lower(): name for name in SELECTABLE}
RETENTION = timedelta(days=90)
DEFAULT_LAG_SECONDS = 15.0
# Resource types whose writes are asynchronous in ARM: Started, Accepted (202), Succeeded.
ASYNC_TYPES = (
    "microsoft.compute/virtualmachines",
    "microsoft.storage/storageaccounts",
    "microsoft.sql/servers",
    "microsoft.web/sites",
)
_FIELD_OF = {
    "resourcegroupname": "resourceGroupName",
    "resourceuri": "resourceId",
    "resourceid": "resourceId",
    "correlationid": "correlationId",
}

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


@dataclass(frozen=True)
class Stage:
    """One event of an operation's sequence: status, event name and HTTP sub-status."""

    status: str
    event_name: str
    sub_status: str
    sub_status_text: str
    offset: timedelta


# Offsets from the moment the change took effect (the Succeeded event's timestamp).
_STARTED = Stage("Started", "BeginRequest", "", "", timedelta(milliseconds=-600))
_ACCEPTED = Stage(
    "Accepted",
    "EndRequest",
    "Accepted",
    "Accepted (HTTP Status Code: 202)",
    timedelta(milliseconds=-500),
)
_SUCCEEDED_SYNC = Stage("Succeeded", "EndRequest", "OK", "OK (HTTP Status Code: 200)", timedelta(0))
_SUCCEEDED_ASYNC = Stage("Succeeded", "EndRequest", "", "", timedelta(0))
_FAILED = Stage(
    "Failed", "EndRequest", "Conflict", "Conflict (HTTP Status Code: 409)", timedelta(0)
)


def stages(operation: str, resource_type: str, outcome: str = "succeeded") -> list[Stage]:
    """The events Azure writes for one operation, in order.

    A synchronous PUT/DELETE: Started then Succeeded. An asynchronous one (long-running
    types): Started, Accepted (202) and, once the operation finished, Succeeded. A POST
    ``/action`` (listKeys, ...): Started then Succeeded. A refused write: Started, Failed.
    """
    if outcome == "failed":
        return [_STARTED, _FAILED]
    if operation != "action" and resource_type.lower() in ASYNC_TYPES:
        return [_STARTED, _ACCEPTED, _SUCCEEDED_ASYNC]
    return [_STARTED, _SUCCEEDED_SYNC]


def make_event(
    tenant_id: str,
    subscription_id: str,
    resource_id: str,
    operation: str,
    caller: Caller,
    when: datetime,
    *,
    stage: Stage = _SUCCEEDED_SYNC,
    correlation: str | None = None,
    lag: timedelta = timedelta(0),
    action_name: str = "",
) -> dict[str, Any]:
    """One Activity Log event in the ``eventtypes/management/values`` shape.

    ``operation`` is ``write``, ``delete`` or ``action`` (then ``action_name``, e.g.
    ``listKeys``, names the POST); ``when`` is the moment the operation took effect,
    ``lag`` how long after its ``eventTimestamp`` the event becomes queryable.
    """
    provider, resource_type = _provider_and_type(resource_id)
    verb = action_name or operation
    action = (
        f"{resource_type}/{verb}" if operation != "action" else f"{resource_type}/{verb}/action"
    )
    kind = resource_type.split("/")[-1]
    correlation = correlation or str(uuid.uuid4())
    event_data_id = str(uuid.uuid4())
    group = ""
    parts = resource_id.split("/")
    if len(parts) > 4 and parts[3].lower() == "resourcegroups":
        group = parts[4]
    moment = when + stage.offset
    ticks = int(moment.timestamp() * 10_000_000) + 621355968000000000
    if operation == "action":
        localized = f"{verb} {kind}"
    else:
        localized = _OPERATION_NAMES.get(operation, "{kind} " + operation).format(kind=kind)
    method = {"delete": "DELETE", "action": "POST"}.get(operation, "PUT")
    properties: dict[str, Any] = {"serviceRequestId": str(uuid.uuid4())}
    if stage.sub_status:
        properties["statusCode"] = stage.sub_status
    return {
        "authorization": {"action": action, "scope": resource_id},
        "caller": caller.name,
        "channels": "Operation",
        "claims": caller.claims(tenant_id),
        "correlationId": correlation,
        "description": "",
        "eventDataId": event_data_id,
        "eventName": {
            "value": stage.event_name,
            "localizedValue": "Begin request"
            if stage.event_name == "BeginRequest"
            else "End request",
        },
        "category": {"value": "Administrative", "localizedValue": "Administrative"},
        "eventTimestamp": iso(moment),
        "id": f"{resource_id}/events/{event_data_id}/ticks/{ticks}",
        "level": "Error" if stage.status == "Failed" else "Informational",
        "operationId": correlation,
        "operationName": {"value": action, "localizedValue": localized},
        "resourceGroupName": group,
        "resourceProviderName": {"value": provider, "localizedValue": provider},
        "resourceType": {"value": resource_type, "localizedValue": resource_type},
        "resourceId": resource_id,
        "status": {"value": stage.status, "localizedValue": stage.status},
        "subStatus": {"value": stage.sub_status, "localizedValue": stage.sub_status_text},
        "submissionTimestamp": iso(moment + lag),
        "subscriptionId": subscription_id,
        "tenantId": tenant_id,
        "httpRequest": {
            "clientRequestId": str(uuid.uuid4()),
            "clientIpAddress": caller.ip,
            "method": method,
        },
        "properties": properties,
        "relatedEvents": [],
    }


def parse_select(text: str) -> list[str] | None:
    """The ``$select`` fields in the spec's casing; None when absent. Raises ValueError."""
    if not text.strip():
        return None
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name.lower() not in _SELECTABLE]
    if unknown or not all(names):
        raise ValueError(
            f"The $select value '{text}' is not valid: '{', '.join(unknown) or text}' is not a "
            f"selectable property. Possible values are: {', '.join(SELECTABLE)}."
        )
    return [_SELECTABLE[name.lower()] for name in names]


def project(event: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """The event reduced to the selected fields (all of them without ``$select``)."""
    if fields is None:
        return event
    return {name: event[name] for name in fields if name in event}


@dataclass
class EventFilter:
    """A parsed ``$filter``: time window plus at most one equality, as the spec allows."""

    start: datetime
    end: datetime
    equals: dict[str, str]

    @classmethod
    def parse(cls, text: str, now: datetime | None = None) -> EventFilter:
        """Parse the documented patterns; anything else raises ValueError."""
        match = _FILTER.match(text or "")
        if match is None:
            raise ValueError(
                f"The $filter '{text}' is not supported. Use eventTimestamp ge '<start>' and "
                "eventTimestamp le '<end>', optionally followed by one of: resourceGroupName "
                "eq, resourceUri eq, resourceProvider eq, correlationId eq."
            )
        bounds: dict[str, datetime] = {}
        for n in (1, 2):
            op = match.group(f"op{n}")
            if op is None:
                continue
            try:
                bounds[op.lower()] = parse_time(match.group(f"t{n}"))
            except ValueError as exc:
                raise ValueError(f"The $filter has an invalid timestamp: {exc}") from exc
        if "ge" not in bounds:
            raise ValueError("The $filter must contain eventTimestamp ge '<start time>'.")
        end = bounds.get("le", now or datetime.now(UTC))
        if end < bounds["ge"]:
            raise ValueError("The $filter's end time is before its start time.")
        equals = {}
        if match.group("field"):
            equals[match.group("field").lower()] = match.group("value").lower()
        return cls(bounds["ge"], end, equals)

    def accepts(self, event: dict[str, Any], when: datetime) -> bool:
        """True when ``event`` (timestamped ``when``) passes the filter."""
        if not self.start <= when <= self.end:
            return False
        for name, value in self.equals.items():
            if name == "resourceprovider":
                actual = (event.get("resourceProviderName") or {}).get("value", "")
            else:
                actual = event.get(_FIELD_OF[name], "")
            if str(actual).lower() != value:
                return False
        return True


@dataclass
class _Stored:
    when: datetime
    visible_at: datetime
    event: dict[str, Any]


class ActivityLog:
    """Events per subscription, oldest first in storage, newest first when served.

    ``lag_seconds`` is the ingestion delay: an event is served only once its
    ``submissionTimestamp`` has passed. Events older than the retention are dropped.
    """

    def __init__(self, lag_seconds: float = DEFAULT_LAG_SECONDS) -> None:
        self.lag = timedelta(seconds=max(0.0, float(lag_seconds)))
        self._events: dict[str, list[_Stored]] = {}
        self._lock = threading.Lock()

    def set_lag(self, seconds: float) -> None:
        """Change the ingestion delay of events recorded from now on."""
        self.lag = timedelta(seconds=max(0.0, float(seconds)))

    def record(
        self,
        tenant_id: str,
        resource_id: str,
        operation: str,
        caller: Caller,
        when: datetime | None = None,
        *,
        outcome: str = "succeeded",
        action_name: str = "",
    ) -> list[dict[str, Any]]:
        """Append the event sequence of one operation (``write``, ``delete`` or ``action``).

        Returns the events in order; the last is the Succeeded (or Failed) one.
        """
        subscription = resource_id.split("/")[2].lower()
        moment = when or datetime.now(UTC)
        _provider, resource_type = _provider_and_type(resource_id)
        correlation = str(uuid.uuid4())
        events = []
        for stage in stages(operation, resource_type, outcome):
            event = make_event(
                tenant_id,
                subscription,
                resource_id,
                operation,
                caller,
                moment,
                stage=stage,
                correlation=correlation,
                lag=self.lag,
                action_name=action_name,
            )
            events.append(
                _Stored(
                    parse_time(event["eventTimestamp"]),
                    parse_time(event["submissionTimestamp"]),
                    event,
                )
            )
        with self._lock:
            stored = self._events.setdefault(subscription, [])
            stored.extend(events)
            cutoff = moment - RETENTION
            if stored and stored[0].when < cutoff:
                stored[:] = [item for item in stored if item.when >= cutoff]
        return [item.event for item in events]

    def query(
        self, subscription_id: str, flt: EventFilter, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Matching events of one subscription visible at ``as_of`` (now), newest first."""
        now = as_of or datetime.now(UTC)
        with self._lock:
            events = list(self._events.get(subscription_id.lower(), ()))
        return [
            item.event
            for item in sorted(events, key=lambda item: item.when, reverse=True)
            if item.visible_at <= now
            and item.when >= now - RETENTION
            and flt.accepts(item.event, item.when)
        ]

    def forget(self, subscription_ids: list[str]) -> None:
        """Drop the events of these subscriptions."""
        with self._lock:
            for sid in subscription_ids:
                self._events.pop(sid.lower(), None)

    def clear(self) -> None:
        """Drop every event."""
        with self._lock:
            self._events.clear()
