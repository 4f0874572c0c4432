"""Injected faults: scoped by tenant, path regex, method, Resource Graph page and table.

Actions: ``status`` (an error status such as 429 with Retry-After, 500, 503), ``delay``
(sleep, then answer normally: with a short client timeout this is a timeout) and
``malformed`` (200 with a truncated JSON body). Each fault fires ``count`` times, or for
ever when ``count`` is None.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from .wire import SimRequest, SimResponse, arm_error, new_request_id

ACTIONS = ("status", "delay", "malformed")


@dataclass
class Fault:
    """One fault rule."""

    action: str = "status"
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    tenant_id: str | None = None
    path_regex: str | None = None
    method: str | None = None
    page: int | None = None
    table: str | None = None
    count: int | None = 1
    id: str = ""
    fired: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Validate a JSON object into a fault."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fault = cls(**known)
        if fault.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if fault.path_regex:
            re.compile(fault.path_regex)
        if fault.tenant_id:
            fault.tenant_id = fault.tenant_id.lower()
        if fault.count is not None and fault.count < 1:
            raise ValueError("count must be >= 1 or null for a persistent fault")
        return fault

    def matches(
        self,
        path: str,
        method: str,
        tenant_id: str | None,
        page: int | None,
        table: str | None = None,
    ) -> bool:
        """True when this fault applies to the request described (``table``: the Resource
        Graph query's first table, for faults that break one table's query only)."""
        if self.table and self.table.lower() != (table or "").lower():
            return False
        if self.tenant_id and self.tenant_id != (tenant_id or "").lower():
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.page is not None and self.page != page:
            return False
        return not (self.path_regex and not re.search(self.path_regex, path, re.IGNORECASE))

    def public_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


class FaultBook:
    """The active faults, checked in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Register a fault and give it an id."""
        with self._lock:
            fault.id = f"fault-{next(self._ids)}"
            self._faults.append(fault)
            return fault

    def remove(self, fault_id: str) -> bool:
        """Remove one fault; False if unknown."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """A snapshot of the active faults."""
        with self._lock:
            return list(self._faults)

    def take(
        self,
        path: str,
        method: str,
        tenant_id: str | None,
        page: int | None,
        table: str | None = None,
    ) -> Fault | None:
        """Return the first matching fault, consuming one of its firings."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(path, method, tenant_id, page, table):
                    fault.fired += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


_CODES = {
    403: (
        "AuthorizationFailed",
        "The client does not have authorization to perform this action over this scope or "
        "the scope is invalid.",
    ),
    429: ("TooManyRequests", "The request is being throttled. Retry after the interval given."),
    500: ("InternalServerError", "An internal error occurred. Please retry the request."),
    502: ("BadGateway", "The gateway did not receive a response in time."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry."),
    504: ("GatewayTimeout", "The gateway did not receive a response within the timeout."),
}

MALFORMED_BODY = b'{"totalRecords": 3, "count": 3, "data": [{"id": "/subscriptions/'


def apply(
    book: FaultBook,
    req: SimRequest,
    tenant_id: str | None,
    page: int | None = None,
    table: str | None = None,
) -> SimResponse | None:
    """Fire the first matching fault for ``req``: return the response to send instead, or
    None to answer normally (after sleeping, for a ``delay`` fault)."""
    target = req.path + ("?" + urlencode(req.query) if req.query else "")
    fault = book.take(target, req.method, tenant_id, page, table)
    if fault is None:
        return None
    if fault.action == "delay":
        time.sleep(fault.delay)
        return None
    headers = {"x-ms-request-id": new_request_id(), **fault.headers}
    if fault.action == "malformed":
        return SimResponse(200, MALFORMED_BODY, headers)
    if fault.retry_after is not None:
        value = float(fault.retry_after)
        headers["Retry-After"] = str(int(value)) if value.is_integer() else str(value)
    code, message = _CODES.get(fault.status, ("SimulatedFault", "Injected fault."))
    return arm_error(fault.status, code, message, headers)
