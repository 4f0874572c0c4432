"""Tenant admin for collected configuration: resources, their history with diffs, poll runs."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from configurations.diffing import side_by_side_html
from configurations.models import Configuration, ConfigurationHistory, PollRun
from driftdetector.admin_site import tenant_admin_site


class ReadOnlyAdmin(admin.ModelAdmin):
    """Collected data is written by collection passes only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeletedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any):
        return [("present", "present"), ("deleted", "deleted (tombstoned)")]

    def queryset(self, request: HttpRequest, queryset: Any):
        if self.value() == "present":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class HistoryInline(admin.TabularInline):
    model = ConfigurationHistory
    fields = ["changed_at", "change_type", "changed_by", "diff_link"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-changed_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="diff")
    def diff_link(self, obj: ConfigurationHistory) -> str:
        return format_html(
            '<a href="../../../configurationhistory/{}/change/">view diff</a>', obj.pk
        )


@admin.register(Configuration, site=tenant_admin_site)
class ConfigurationAdmin(ReadOnlyAdmin):
    list_display = [
        "resource_name",
        "resource_type",
        "subscription_id",
        "resource_group",
        "location",
        "last_updated",
        "deleted_at",
    ]
    list_filter = [DeletedFilter, "resource_type", "subscription_id", "resource_group", "location"]
    search_fields = ["resource_id", "resource_name"]
    list_per_page = 100
    show_full_result_count = False
    fields = [
        "resource_id",
        "resource_name",
        "resource_type",
        "subscription_id",
        "resource_group",
        "location",
        "first_seen",
        "last_updated",
        "deleted_at",
        "config_hash",
        "pretty_config",
    ]
    readonly_fields = fields
    inlines = [HistoryInline]

    @admin.display(description="configuration (normalised)")
    def pretty_config(self, obj: Configuration) -> str:
        text = json.dumps(obj.config_data, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="max-height:40em;overflow:auto">{}</pre>', text)


@admin.register(ConfigurationHistory, site=tenant_admin_site)
class ConfigurationHistoryAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "change_type", "resource", "changed_by", "poll_run"]
    list_filter = ["change_type", "configuration__resource_type"]
    search_fields = ["configuration__resource_id", "changed_by"]
    list_select_related = ["configuration"]
    fields = ["configuration", "change_type", "changed_at", "changed_by", "poll_run", "diff"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="resource")
    def resource(self, obj: ConfigurationHistory) -> str:
        return obj.configuration.resource_name

    @admin.display(description="previous (left) vs new (right)")
    def diff(self, obj: ConfigurationHistory) -> str:
        from django.template.loader import render_to_string

        style = render_to_string("admin/includes/diff_style.html")
        table = side_by_side_html(obj.previous_config, obj.new_config)
        return mark_safe(f'{style}<div class="diff-wrap">{table}</div>')  # noqa: S308


@admin.register(PollRun, site=tenant_admin_site)
class PollRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "status",
        "trigger",
        "seen",
        "created",
        "updated",
        "deleted",
        "unchanged",
        "pages",
        "azure_calls",
        "throttle_waits",
        "duration_seconds",
        "short_error",
    ]
    list_filter = ["status", "trigger"]

    @admin.display(description="error")
    def short_error(self, obj: PollRun) -> str:
        return (obj.error[:120] + "…") if len(obj.error) > 120 else obj.error
