"""CSV/JSON exports of findings: CSV streams row by row and cannot inject formulas."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse

from drift.api.serializers import FINDING_FIELDS
from drift.models import DriftFinding

EXPORT_FIELDS = ["tenant", *FINDING_FIELDS]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A cell a spreadsheet shows as text: JSON for structures, and a leading ``'`` before
    text that starts like a formula (OWASP CSV injection)."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(findings: Iterable[DriftFinding], tenant: Any) -> Iterator[str]:
    """The rows, read while the server sends them: after the tenant middleware has put the
    connection back to the public schema, so the generator enters the tenant's itself."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    connection.set_tenant(tenant)
    try:
        for finding in findings:
            yield writer.writerow(
                [neutralise(tenant.slug)]
                + [neutralise(getattr(finding, f)) for f in FINDING_FIELDS]
            )
    finally:
        connection.set_schema_to_public()


def export_response(
    findings: Iterable[DriftFinding], tenant: Any, fmt: str, name: str, extra: dict | None = None
) -> HttpResponse | StreamingHttpResponse:
    """``findings`` (a queryset is iterated in chunks) as a CSV download or one JSON body."""
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            _csv_lines(findings, tenant), content_type="text/csv; charset=utf-8"
        )
    else:
        rows = [
            {**{f: getattr(finding, f) for f in FINDING_FIELDS}, "tenant": tenant.slug}
            for finding in findings
        ]
        body = {**(extra or {}), "tenant": {"id": tenant.pk, "slug": tenant.slug}, "findings": rows}
        response = HttpResponse(
            json.dumps(body, default=str, ensure_ascii=False), content_type="application/json"
        )
    response["Content-Disposition"] = f'attachment; filename="{tenant.slug}-{name}.{fmt}"'
    return response
