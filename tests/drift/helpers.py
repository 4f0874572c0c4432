"""Small helpers shared by the drift tests."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from drift import services
from drift.models import DriftFinding


def in_schema(tenant, fn):
    """Run ``fn`` with the connection in ``tenant``'s schema and return its result."""
    with tenant_context(tenant):
        return fn()


def detect(tenant):
    """One detection pass of ``tenant`` (its report)."""
    return in_schema(tenant, lambda: services.run_detection(tenant, actor="test"))


def open_findings(tenant):
    """Open and acknowledged findings of ``tenant``."""
    return in_schema(
        tenant, lambda: list(DriftFinding.objects.filter(status__in=services.UNRESOLVED))
    )
