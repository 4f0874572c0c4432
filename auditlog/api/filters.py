"""Query parameters of the audit API, validated: a bad value is a 400 naming the parameter."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from auditlog.models import SigningLog

PARAMS = ("source", "user", "app", "status", "ip", "since", "until", "q")


def _moment(name: str, text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None:
        raise ValidationError({name: "Give an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z."})
    if moment.tzinfo is None:
        raise ValidationError({name: "Give a time zone (e.g. a trailing Z)."})
    return moment


def audit_filters(params: Any) -> dict[str, Any]:
    """``auditlog.selectors.audit_rows`` keyword arguments from the request's parameters."""
    out: dict[str, Any] = {}
    source = params.get("source", "")
    if source:
        if source not in SigningLog.Source.values:
            raise ValidationError({"source": f"One of {', '.join(SigningLog.Source.values)}."})
        out["source"] = source
    for name, key in (("user", "user"), ("app", "app"), ("status", "status"), ("q", "search")):
        value = params.get(name, "")
        if len(value) > 255:
            raise ValidationError({name: "At most 255 characters."})
        if value:
            out[key] = value
    ip = params.get("ip", "")
    if ip:
        try:
            out["ip"] = str(ipaddress.ip_address(ip))
        except ValueError:
            raise ValidationError({"ip": "Not an IP address."}) from None
    for name in ("since", "until"):
        if params.get(name):
            out[name] = _moment(name, params[name])
    return out
