"""Plain request/response values passed between the HTTP server and the API handlers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class SimRequest:
    """One decoded HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    client_ip: str = "127.0.0.1"

    def header(self, name: str, default: str = "") -> str:
        """Return a header value (case-insensitive name) or ``default``."""
        value = self.headers.get(name)
        return default if value is None else str(value)

    def json(self) -> Any:
        """Decode the body as JSON (``{}`` when empty); raises ValueError when invalid."""
        if not self.body:
            return {}
        return json.loads(self.body)


@dataclass
class SimResponse:
    """One HTTP response to write back."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, as Azure sends it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> SimResponse:
    """Build a JSON response."""
    return SimResponse(status=status, body=dumps(obj), headers=dict(headers or {}))


def arm_error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> SimResponse:
    """Azure Resource Manager's error envelope: ``{"error": {"code", "message"}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response(status, {"error": error}, headers)


def new_request_id() -> str:
    """A fresh GUID in Azure's lower-case 8-4-4-4-12 form."""
    return str(uuid.uuid4())
