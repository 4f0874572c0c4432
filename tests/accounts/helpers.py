"""Helpers shared by the sign-in tests."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from auditlog.models import SigningLog


def audit_rows(schema: str, *fields: str, **filters: Any) -> list[tuple]:
    """``fields`` of the audit rows in ``schema`` matching ``filters``, oldest first."""
    with schema_context(schema):
        return list(
            SigningLog.objects.filter(**filters).order_by("timestamp", "id").values_list(*fields)
        )
