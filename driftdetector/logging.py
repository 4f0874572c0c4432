"""Request id and tenant on every log record, for requests and Celery tasks alike.

A context variable holds the current request id and tenant slug; the middleware sets it
for each request (honouring an incoming ``X-Request-ID``), the Celery signal handlers in
``driftdetector.celery`` set it for each task, and the filter copies it onto records.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
tenant_var: ContextVar[str] = ContextVar("tenant", default="-")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``tenant`` attributes to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        return True


class RequestContextMiddleware:
    """Gives each request an id (kept from X-Request-ID when it is well-formed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        tenant_token = tenant_var.set("public")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            tenant_var.reset(tenant_token)
        response["X-Request-ID"] = request_id
        return response


_AZURE_NAMESPACE = uuid.UUID("9f1e0c4e-5d43-4c7b-8a51-64726966743e")


def azure_client_request_id() -> str | None:
    """The current request id as Azure's ``x-ms-client-request-id`` (a GUID), or None.

    Azure asks for a GUID there: a request id that is one is sent as it is (canonical
    form); any other id is sent as a name-based UUID of it (uuid5), the same every time.
    """
    request_id = request_id_var.get()
    if request_id == "-":
        return None
    try:
        return str(uuid.UUID(request_id))
    except ValueError:
        return str(uuid.uuid5(_AZURE_NAMESPACE, request_id))
