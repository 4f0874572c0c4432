"""Tenant API for the audit trail: sign-ins, directory audits and platform events, read-only,
filtered (source, user, app, status, ip, since, until, q) and cursor-paginated."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.pagination import CursorPagination

from accounts.api.permissions import TenantAccess
from auditlog import selectors
from auditlog.api import serializers
from auditlog.api.filters import audit_filters


class AuditCursorPagination(CursorPagination):
    """Stable pages over a log that grows while it is read (newest first)."""

    ordering = ("-timestamp", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.SigningLogSerializer
    permission_classes = [TenantAccess]
    read_permission = "auditlog.view_signinglog"
    pagination_class = AuditCursorPagination

    def get_queryset(self):
        filters = audit_filters(self.request.query_params) if self.action == "list" else {}
        return selectors.audit_rows(**filters)


class SignInViewSet(AuditLogViewSet):
    """Azure sign-ins only."""

    def get_queryset(self):
        filters = audit_filters(self.request.query_params) if self.action == "list" else {}
        filters["source"] = "azure_signin"
        return selectors.audit_rows(**filters)
