"""Tenant admin for drift: findings with actions, exceptions, reports, baselines."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from drift import selectors, services
from drift.choices import rank_expression
from drift.focus import arm_parts, principal_label
from drift.models import Baseline, DriftException, DriftFinding, DriftReport
from drift.pages import apply_action, default_expiry, finding_page_context, known_apps
from driftdetector.admin_site import tenant_admin_site


class ExceptionForm(forms.Form):
    """Reason and expiry for accepting the selected findings' values as deviations."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    expires_at = forms.DateTimeField(
        help_text="YYYY-MM-DD HH:MM; the findings reopen when it passes.",
        initial=lambda: (timezone.now() + timedelta(days=30)).replace(microsecond=0),
    )


SEVERITY_COLOURS = {
    "critical": "#8b0000",
    "high": "#d1242f",
    "medium": "#bf8700",
    "low": "#57606a",
}


def severity_badge(severity: str) -> str:
    """A coloured severity label (colour plus the word, never colour alone)."""
    return format_html(
        '<span class="sev sev-{}" style="background:{}">{}</span>',
        severity,
        SEVERITY_COLOURS.get(severity, "#57606a"),
        severity,
    )


def read_only_page_allowed(model_admin: admin.ModelAdmin, request: HttpRequest, obj: Any) -> None:
    """A read-only object page answers 403 without view permission, and to a POST (the
    admin's save) without change permission, as the stock change view does."""
    from django.core.exceptions import PermissionDenied

    if not model_admin.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    if request.method == "POST" and not model_admin.has_change_permission(request, obj):
        raise PermissionDenied


class SubscriptionFilter(admin.SimpleListFilter):
    """Findings of one subscription, listed by name."""

    title = "subscription"
    parameter_name = "subscription"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return selectors.subscription_choices()

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value():
            return queryset.filter(resource_id__istartswith=f"/subscriptions/{self.value()}/")
        return queryset


class ResourceGroupFilter(admin.SimpleListFilter):
    """Findings of one resource group (within the chosen subscription, if any)."""

    title = "resource group"
    parameter_name = "rg"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return selectors.resource_group_choices(request.GET.get("subscription", ""))

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value():
            return queryset.filter(resource_id__icontains=f"/resourcegroups/{self.value()}/")
        return queryset


class FindingStatusFilter(admin.SimpleListFilter):
    """Status, with "open or acknowledged" (what the fleet counts as open drift)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("unresolved", "open or acknowledged"), *DriftFinding.Status.choices]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "unresolved":
            return queryset.filter(status__in=["open", "acknowledged"])
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


class ActionForm(forms.Form):
    """One action on one finding from its page (the exception fields only for "exception")."""

    ACTIONS = (
        ("acknowledge", "Acknowledge"),
        ("reopen", "Reopen"),
        ("accept", "Accept into baseline"),
        ("exception", "Create exception"),
        ("ignore_resource", "Ignore path on this resource"),
        ("ignore_type", "Ignore path on all resources of this type"),
    )
    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = forms.DateTimeField(required=False)


@admin.register(DriftFinding, site=tenant_admin_site)
class DriftFindingAdmin(admin.ModelAdmin):
    """Findings: the list sorted by severity rank then newest, and a finding page with a
    headline, the changed path in context and the actions that close it."""

    list_filter = [
        "severity",
        FindingStatusFilter,
        SubscriptionFilter,
        ResourceGroupFilter,
        "kind",
        "flapping",
        "resource_type",
    ]
    search_fields = ["resource_id", "path", "changed_by"]
    search_help_text = "Search by resource name, path or who changed it."
    list_per_page = 50
    show_full_result_count = False
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
        # Not super(): it orders by get_ordering before the rank annotation exists.
        return self.model._default_manager.get_queryset().annotate(severity_rank=rank_expression())

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        """Worst first (severity rank, not its name), then newest. An expression, not the
        annotation's name: other admins order their finding choices by it too, on a plain
        queryset (e.g. a snooze's finding)."""
        return [rank_expression().desc(), "-first_seen", "-id"]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        names = selectors.subscription_names()
        apps = known_apps()

        @admin.display(description="severity", ordering="severity_rank")
        def sev(obj: DriftFinding) -> str:
            return severity_badge(obj.severity)

        @admin.display(description="resource", ordering="resource_id")
        def resource(obj: DriftFinding) -> str:
            parts = arm_parts(obj.resource_id)
            return format_html(
                '<a href="{}/change/" title="{}"><strong>{}</strong></a>',
                obj.pk,
                obj.resource_id,
                parts["name"],
            )

        @admin.display(description="type")
        def short_type(obj: DriftFinding) -> str:
            return arm_parts(obj.resource_id)["short_type"]

        @admin.display(description="resource group")
        def group(obj: DriftFinding) -> str:
            return arm_parts(obj.resource_id)["resource_group"]

        @admin.display(description="subscription")
        def subscription(obj: DriftFinding) -> str:
            sid = arm_parts(obj.resource_id)["subscription_id"]
            return format_html('<span title="{}">{}</span>', sid, names.get(sid.lower(), sid))

        @admin.display(description="path", ordering="path")
        def changed_path(obj: DriftFinding) -> str:
            return format_html("<code>{}</code> <small>({})</small>", obj.path or "-", obj.kind)

        @admin.display(description="changed by", ordering="changed_by")
        def who(obj: DriftFinding) -> str:
            shown, tip = principal_label(obj.changed_by, apps)
            return format_html('<span title="{}">{}</span>', tip, shown)

        @admin.display(description="first seen", ordering="first_seen")
        def first(obj: DriftFinding) -> str:
            return timezone.localtime(obj.first_seen).strftime("%Y-%m-%d %H:%M")

        @admin.display(description="status", ordering="status")
        def state(obj: DriftFinding) -> str:
            return obj.status + (" · flapping" if obj.flapping else "")

        return [sev, resource, short_type, group, subscription, changed_path, who, first, state]

    def get_list_display_links(self, request: HttpRequest, list_display: Any) -> None:
        return None

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra = {"title": "Findings", "subtitle": None, **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<int:pk>/act/",
                self.admin_site.admin_view(self.act_view),
                name="drift_driftfinding_act",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """The finding page (read-only; actions post to ``act/``)."""
        read_only_page_allowed(self, request, None)  # before the lookup, as the admin does
        finding = self.get_object(request, object_id)
        if finding is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        read_only_page_allowed(self, request, finding)
        context = {
            **self.admin_site.each_context(request),
            **finding_page_context(finding),
            "opts": self.opts,
            "title": arm_parts(finding.resource_id)["name"],
            "action_form": ActionForm(
                initial={"expires_at": default_expiry(), "action": "exception"}
            ),
            "can_act": self.has_change_permission(request, finding),
        }
        return TemplateResponse(request, "admin/drift/finding.html", context)

    def act_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Apply one action to one finding through the drift services; back to its page."""
        from django.shortcuts import redirect

        finding = self.get_object(request, str(pk))
        if finding is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, finding):
            return HttpResponseNotAllowed(["POST"])
        form = ActionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Not done: {form.errors.as_text()}", messages.ERROR)
            return redirect("tenant_admin:drift_driftfinding_change", pk)
        try:
            text = apply_action(finding, form.cleaned_data, actor=request.user.username)
        except (ValidationError, ValueError) as exc:
            problems = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            self.message_user(request, "Not done: " + " ".join(problems), messages.ERROR)
        else:
            self.message_user(request, text, messages.SUCCESS)
        return redirect("tenant_admin:drift_driftfinding_change", pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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


def severity_counts_html(counts: dict[str, int] | None) -> str:
    """``{"high": 1}`` as coloured badges, worst first ("none" when empty)."""
    from drift.choices import SEVERITIES

    items = [(s, (counts or {}).get(s, 0)) for s in reversed(SEVERITIES)]
    shown = [(s, n) for s, n in items if n]
    if not shown:
        return "none"
    return format_html_join(" ", "{} {}", ((severity_badge(s), n) for s, n in shown))


@admin.register(DriftException, site=tenant_admin_site)
class DriftExceptionAdmin(admin.ModelAdmin):
    list_display = [
        "resource_name",
        "path_pattern",
        "value",
        "reason_text",
        "approved_by",
        "approved_at",
        "expires_at",
        "live",
    ]
    search_fields = ["resource_pattern", "path_pattern", "reason", "approved_by"]
    fields = ["resource_pattern", "path_pattern", "accepted_value", "reason", "expires_at"]

    @admin.display(description="resource", ordering="resource_pattern")
    def resource_name(self, obj: DriftException) -> str:
        return format_html(
            '<span title="{}">{}</span>',
            obj.resource_pattern,
            arm_parts(obj.resource_pattern)["name"] or obj.resource_pattern,
        )

    @admin.display(description="accepted value")
    def value(self, obj: DriftException) -> str:
        text = json.dumps(obj.accepted_value, ensure_ascii=False, default=str, indent=1)
        return format_html(
            '<pre style="white-space:pre-wrap;word-break:break-word;margin:0;max-width:32em;'
            'max-height:12em;overflow:auto;font-size:11px">{}</pre>',
            text,
        )

    @admin.display(description="reason")
    def reason_text(self, obj: DriftException) -> str:
        return format_html('<div style="max-width:24em">{}</div>', obj.reason)

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
    """Detection passes: counts per severity, the findings each touched, CSV/JSON export."""

    list_display = [
        "started_at",
        "resources_compared",
        "resources_drifted",
        "severities",
        "opened",
        "resolved",
        "exports",
    ]
    list_display_links = ["started_at"]

    @admin.display(description="by severity")
    def severities(self, obj: DriftReport) -> str:
        return severity_counts_html(obj.by_severity)

    @admin.display(description="export")
    def exports(self, obj: DriftReport) -> str:
        from django.urls import reverse

        url = reverse("api-drift-report-export", args=[obj.pk])
        return format_html('<a href="{}?as=csv">CSV</a> · <a href="{}?as=json">JSON</a>', url, url)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """The report page: its counts, its findings (worst first) and export links."""
        from django.urls import reverse

        read_only_page_allowed(self, request, None)  # before the lookup, as the admin does
        report = self.get_object(request, object_id)
        if report is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        read_only_page_allowed(self, request, report)
        findings = report.findings.annotate(severity_rank=rank_expression()).order_by(
            "-severity_rank", "-first_seen"
        )[:500]
        export = reverse("api-drift-report-export", args=[report.pk])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Drift report of {timezone.localtime(report.started_at):%Y-%m-%d %H:%M}",
            "report": report,
            "severities": severity_counts_html(report.by_severity),
            "kinds": ", ".join(f"{k} {v}" for k, v in sorted((report.by_kind or {}).items()))
            or "none",
            "findings": [
                (f, arm_parts(f.resource_id)["name"], severity_badge(f.severity)) for f in findings
            ],
            "export_csv": f"{export}?as=csv",
            "export_json": f"{export}?as=json",
        }
        return TemplateResponse(request, "admin/drift/report.html", context)

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
