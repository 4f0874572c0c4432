"""Tenant admin for drift: findings with actions, reports, baselines."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html

from drift import services
from drift.models import Baseline, DriftFinding, DriftReport
from driftdetector.admin_site import tenant_admin_site


@admin.register(DriftFinding, site=tenant_admin_site)
class DriftFindingAdmin(admin.ModelAdmin):
    list_display = [
        "severity",
        "status",
        "kind",
        "resource_type",
        "resource_id",
        "path",
        "changed_by",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["severity", "status", "kind", "resource_type"]
    search_fields = ["resource_id", "path", "changed_by"]
    readonly_fields = [
        "resource_id",
        "resource_type",
        "kind",
        "path",
        "values",
        "severity",
        "matched_rule",
        "changed_by",
        "status",
        "status_changed_by",
        "status_changed_at",
        "first_seen",
        "last_seen",
        "resolved_at",
    ]
    fields = readonly_fields
    actions = ["acknowledge", "reopen", "accept"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="baseline -> current")
    def values(self, obj: DriftFinding) -> str:
        dump = json.dumps(
            {"baseline": obj.baseline_value, "current": obj.current_value},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
        return format_html('<pre style="max-height:30em;overflow:auto">{}</pre>', dump)

    @admin.action(description="Acknowledge", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: Any) -> None:
        done = services.set_findings_status(
            queryset.values_list("pk", flat=True), "acknowledged", actor=request.user.username
        )
        self.message_user(request, f"Acknowledged {done} finding(s).", messages.SUCCESS)

    @admin.action(description="Reopen", permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: Any) -> None:
        done = services.set_findings_status(
            queryset.values_list("pk", flat=True), "open", actor=request.user.username
        )
        self.message_user(request, f"Reopened {done} finding(s).", messages.SUCCESS)

    @admin.action(
        description="Accept current configuration into the baseline", permissions=["change"]
    )
    def accept(self, request: HttpRequest, queryset: Any) -> None:
        done = services.accept_into_baseline(
            queryset.values_list("pk", flat=True), actor=request.user.username
        )
        self.message_user(
            request, f"Accepted {done} resource(s) into the baseline.", messages.SUCCESS
        )


@admin.register(DriftReport, site=tenant_admin_site)
class DriftReportAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "resources_compared",
        "resources_drifted",
        "by_severity",
        "opened",
        "resolved",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Baseline, site=tenant_admin_site)
class BaselineAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "active", "created_by", "created_at", "entry_count"]

    @admin.display(description="resources")
    def entry_count(self, obj: Baseline) -> int:
        return obj.entries.count()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
