"""Tenant admin for drift: findings with actions, exceptions, reports, baselines."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from configurations.diffing import side_by_side_html
from drift import selectors, services
from drift.choices import rank_expression
from drift.models import Baseline, DriftException, DriftFinding, DriftReport
from driftdetector.admin_site import tenant_admin_site

DIFF_STYLE = (
    "<style>table.diff{font-family:monospace;font-size:12px;border-collapse:collapse}"
    ".diff_add{background:#dfd}.diff_chg{background:#ffa}.diff_sub{background:#fdd}"
    "td.diff_header{color:#888;text-align:right}</style>"
)


class ExceptionForm(forms.Form):
    """Reason and expiry for accepting the selected findings' values as deviations."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    expires_at = forms.DateTimeField(
        help_text="YYYY-MM-DD HH:MM; the findings reopen when it passes.",
        initial=lambda: (timezone.now() + timedelta(days=30)).replace(microsecond=0),
    )


@admin.register(DriftFinding, site=tenant_admin_site)
class DriftFindingAdmin(admin.ModelAdmin):
    list_display = [
        "ranked_severity",
        "status",
        "kind",
        "resource_type",
        "resource_id",
        "path",
        "changed_by",
        "flapping",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["severity", "status", "kind", "flapping", "resource_type"]
    search_fields = ["resource_id", "path", "changed_by"]
    readonly_fields = [
        "resource_id",
        "resource_type",
        "kind",
        "path",
        "values",
        "severity",
        "matched_rule",
        "rule_basis",
        "changed_by",
        "status",
        "flapping",
        "exception",
        "status_changed_by",
        "status_changed_at",
        "first_seen",
        "last_seen",
        "resolved_at",
        "resource_diff",
        "history",
    ]
    fields = readonly_fields
    actions = [
        "acknowledge",
        "reopen",
        "accept",
        "create_exception",
        "ignore_path",
        "ignore_path_for_type",
        "ignore_path_in_group",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).annotate(severity_rank=rank_expression())

    @admin.display(description="severity", ordering="severity_rank")
    def ranked_severity(self, obj: DriftFinding) -> str:
        return obj.severity

    @admin.display(description="why this severity")
    def rule_basis(self, obj: DriftFinding) -> str:
        rule = selectors.rule_details(obj)
        return format_html(
            "{} <em>({})</em><br>{}<br>Reference: {}",
            rule["name"],
            rule["source"] or "rule no longer exists",
            rule["rationale"] or "-",
            rule["reference"] or "-",
        )

    @admin.display(description="baseline (left) vs current (right)")
    def resource_diff(self, obj: DriftFinding) -> str:
        approved, current = selectors.approved_and_current(obj)
        table = side_by_side_html(approved, current, labels=("baseline", "current"))
        return mark_safe(DIFF_STYLE + table)  # noqa: S308  (difflib escapes the values)

    @admin.display(description="history of this resource")
    def history(self, obj: DriftFinding) -> str:
        rows = selectors.resource_history(obj.resource_id)
        if not rows:
            return "No collected changes."
        body = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">diff</a></td></tr>',
            (
                (
                    timezone.localtime(row.changed_at).strftime("%Y-%m-%d %H:%M:%S"),
                    row.change_type,
                    row.changed_by,
                    f"../../../../configurations/configurationhistory/{row.pk}/change/",
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><tr><th>when</th><th>change</th><th>by</th><th></th></tr>{}</table>", body
        )

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

    @admin.action(
        description="Create exception (accept the value until a date)", permissions=["change"]
    )
    def create_exception(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        form = ExceptionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                created = services.create_exceptions(
                    queryset.values_list("pk", flat=True),
                    reason=form.cleaned_data["reason"],
                    expires_at=form.cleaned_data["expires_at"],
                    actor=request.user.username,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(
                    request, f"Created {len(created)} exception(s).", messages.SUCCESS
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Create exception",
            "form": form,
            "findings": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/drift/create_exception.html", context)

    @admin.action(
        description="Ignore this path from now on (adds an ignore rule)", permissions=["change"]
    )
    def ignore_path(self, request: HttpRequest, queryset: Any) -> None:
        added = services.ignore_finding_paths(
            queryset.values_list("pk", flat=True), actor=request.user.username
        )
        self.message_user(
            request,
            f"Added {added} ignore rule(s) to this tenant's drift rules; findings resolved.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Ignore this path on every resource of its type", permissions=["change"]
    )
    def ignore_path_for_type(self, request: HttpRequest, queryset: Any) -> None:
        added = services.ignore_finding_paths(
            queryset.values_list("pk", flat=True), actor=request.user.username, scope="type"
        )
        self.message_user(
            request, f"Added {added} ignore rule(s) for resource types.", messages.SUCCESS
        )

    @admin.action(
        description="Ignore this path on every resource of its resource group",
        permissions=["change"],
    )
    def ignore_path_in_group(self, request: HttpRequest, queryset: Any) -> None:
        added = services.ignore_finding_paths(
            queryset.values_list("pk", flat=True), actor=request.user.username, scope="group"
        )
        self.message_user(
            request, f"Added {added} ignore rule(s) for resource groups.", messages.SUCCESS
        )


@admin.register(DriftException, site=tenant_admin_site)
class DriftExceptionAdmin(admin.ModelAdmin):
    list_display = [
        "resource_pattern",
        "path_pattern",
        "short_value",
        "approved_by",
        "approved_at",
        "expires_at",
        "live",
    ]
    search_fields = ["resource_pattern", "path_pattern", "reason", "approved_by"]
    fields = ["resource_pattern", "path_pattern", "accepted_value", "reason", "expires_at"]

    @admin.display(description="accepted value")
    def short_value(self, obj: DriftException) -> str:
        return json.dumps(obj.accepted_value, ensure_ascii=False, default=str)[:80]

    @admin.display(boolean=True, description="in force")
    def live(self, obj: DriftException) -> bool:
        return obj.expires_at > timezone.now()

    def save_model(
        self, request: HttpRequest, obj: DriftException, form: Any, change: bool
    ) -> None:
        obj.approved_by = request.user.username
        super().save_model(request, obj, form, change)


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


class BaselineForm(forms.ModelForm):
    """New baseline from the present state of the tenant, a subscription or a resource group."""

    scope_prefix = forms.ChoiceField(label="Scope", required=False)

    class Meta:
        model = Baseline
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope_prefix"].choices = [("", "whole tenant"), *selectors.baseline_scopes()]


@admin.register(Baseline, site=tenant_admin_site)
class BaselineAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "active", "created_by", "created_at", "entry_count"]
    form = BaselineForm

    @admin.display(description="resources")
    def entry_count(self, obj: Baseline) -> int:
        return obj.entries.count()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["name", "scope_prefix"]
        return ["name", "scope", "active", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["name", "scope", "active", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Baseline, form: Any, change: bool) -> None:
        created = services.create_baseline(
            name=form.cleaned_data["name"],
            actor=request.user.username,
            scope_prefix=form.cleaned_data.get("scope_prefix") or "",
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
