"""Typed errors for everything that can go wrong talking to Azure, with a human message."""

from __future__ import annotations

import re

from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

_AADSTS = re.compile(r"(AADSTS\d+:[^\r\n]*?)(?: Trace ID:|\r|\n|$)")


class AzureAccessError(Exception):
    """Base class: a call to Azure failed. ``message`` is fit to show to an operator."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AzureAuthError(AzureAccessError):
    """Azure rejected the credentials or the token (bad tenant, client id, secret, consent)."""


class AzureThrottledError(AzureAccessError):
    """Azure kept throttling beyond the retries and waits allowed."""

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class AzureResponseError(AzureAccessError):
    """Azure answered with a server error after retries, or with a body we cannot read."""


class AzureConnectionError(AzureAccessError):
    """Azure could not be reached or did not answer in time."""


class AzureTimeoutError(AzureConnectionError):
    """A request timed out."""


def _aad_reason(text: str) -> str:
    match = _AADSTS.search(text)
    return match.group(1).strip() if match else text.strip().splitlines()[0][:300]


def _retry_after(exc: HttpResponseError) -> float | None:
    response = exc.response
    if response is None:
        return None
    for name in ("Retry-After", "x-ms-user-quota-resets-after"):
        value = response.headers.get(name)
        if value:
            try:
                if ":" in value:
                    h, m, s = (float(p) for p in value.split(":"))
                    return h * 3600 + m * 60 + s
                return float(value)
            except ValueError:
                continue
    return None


def translate(exc: BaseException, what: str) -> AzureAccessError:
    """Map an azure-core / azure-identity exception to a typed error; ``what`` names the call."""
    if isinstance(exc, AzureAccessError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        status = exc.status_code
        return AzureAuthError(
            f"{what}: Azure rejected the credentials: {_aad_reason(str(exc))}", status=status
        )
    if isinstance(exc, DecodeError):
        return AzureResponseError(
            f"{what}: Azure returned a body that is not valid JSON", status=exc.status_code
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        reason = exc.message.splitlines()[0][:300] if exc.message else exc.reason or ""
        if status in (401, 403):
            return AzureAuthError(f"{what}: access denied ({status}): {reason}", status=status)
        if status == 429:
            return AzureThrottledError(
                f"{what}: still throttled by Azure after retries ({reason})",
                retry_after=_retry_after(exc),
            )
        return AzureResponseError(f"{what}: Azure answered {status}: {reason}", status=status)
    if isinstance(exc, (ServiceResponseTimeoutError, ServiceRequestTimeoutError)):
        return AzureTimeoutError(f"{what}: Azure did not answer in time ({exc})")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return AzureConnectionError(f"{what}: could not reach Azure ({exc})")
    if isinstance(exc, ValueError) and "authority" in str(exc).lower():
        return AzureAuthError(
            f"{what}: the tenant or authority is not valid: {_aad_reason(str(exc))}"
        )
    return AzureAccessError(f"{what}: {type(exc).__name__}: {exc}")
