"""One error format for the whole API: RFC 9457 problem details (``application/problem+json``).

DRF's exception handler, Django's 404/500 handlers and the API guard middleware all answer
through ``problem_response`` so every error under ``/api/`` and ``/t/<slug>/api/`` has the
same shape: ``type``, ``title``, ``status``, ``detail`` and, for a 400, ``errors`` keyed by
field.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import redis
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
NO_SUCH_TENANT = "No such tenant."
UNAVAILABLE = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)


def is_api_path(path: str) -> bool:
    """``/api/...`` or ``/t/<slug>/api/...``: paths whose every answer is JSON."""
    if path.startswith("/api/"):
        return True
    parts = path.split("/", 4)
    return len(parts) >= 4 and parts[1] == "t" and parts[3] == "api"


def problem_response(
    status: int, detail: Any = None, *, errors: Any = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    """A problem-details answer with ``status`` and a human ``detail``."""
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": str(detail) if detail is not None else title,
    }
    if errors is not None:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _detail_and_errors(data: Any) -> tuple[str, Any]:
    if isinstance(data, dict) and set(data) == {"detail"}:
        return str(data["detail"]), None
    if isinstance(data, dict | list):
        return "The request has invalid fields; see errors.", data
    return str(data), None


def _hidden_tenant(request: Any) -> bool:
    """A tenant API call that failed authentication: answer as for an unknown tenant."""
    tenant = getattr(request, "tenant", None)
    return tenant is not None and not getattr(tenant, "is_public", True)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse | None:
    """DRF's EXCEPTION_HANDLER: every failure as problem details, never an HTML 500."""
    request = context.get("request")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed) and (
        _hidden_tenant(request)
    ):
        # 401 for a tenant that exists and 404 for one that does not would reveal tenants.
        exc = exceptions.NotFound(NO_SUCH_TENANT)
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "The request body is too large.")
    if isinstance(exc, IntegrityError):
        return problem_response(409, "The request conflicts with existing data.")
    if isinstance(exc, UNAVAILABLE):
        logger.warning("api dependency unavailable: %s", exc.__class__.__name__)
        return problem_response(
            503,
            "A service the API needs is unavailable; retry later.",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, DataError):
        # A value PostgreSQL cannot take (NUL in text, a number or instant out of range).
        logger.warning("api value refused by the database: %s", str(exc).splitlines()[0])
        return problem_response(400, "A value in the request is out of range or invalid.")
    if isinstance(exc, SuspiciousOperation):
        return problem_response(400, "The request was refused.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail, errors = _detail_and_errors(response.data)
    headers = {
        k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    return problem_response(response.status_code, detail, errors=errors, headers=headers)


def handler404(request: HttpRequest, exception: Exception | None = None):
    """Unknown paths: problem JSON under the API, Django's page elsewhere."""
    if is_api_path(request.path):
        said = str(exception.args[0]) if exception and exception.args else ""
        # The tenant middleware's refusal reads as DRF's for a tenant the caller may not enter.
        return problem_response(404, said if said == NO_SUCH_TENANT else "Not found.")
    return defaults.page_not_found(request, exception or Http404())


def handler403(request: HttpRequest, exception: Exception | None = None):
    if is_api_path(request.path):
        return problem_response(403, "Forbidden.")
    return defaults.permission_denied(request, exception or PermissionDenied())


def handler400(request: HttpRequest, exception: Exception | None = None):
    if is_api_path(request.path):
        return problem_response(400, "Bad request.")
    return defaults.bad_request(request, exception or SuspiciousOperation())


def handler500(request: HttpRequest):
    """A failure outside DRF: 503 when a dependency is down, else 500; JSON under the API."""
    import sys

    exc = sys.exc_info()[1]
    if is_api_path(request.path):
        if isinstance(exc, UNAVAILABLE):
            return problem_response(
                503,
                "A service the API needs is unavailable; retry later.",
                headers={"Retry-After": "5"},
            )
        return problem_response(500, "Internal error.")
    return defaults.server_error(request)
