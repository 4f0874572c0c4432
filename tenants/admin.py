"""Admin for tenants, domains and settings versions; writes go through ``tenants.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django_tenants.utils import get_public_schema_name

from tenants import services
from tenants.forms import (
    AzureCredentialForm,
    SettingsVersionForm,
    TenantChangeForm,
    TenantOnboardingForm,
)
from tenants.models import AzureCredential, Domain, Settings, Tenant
from tenants.onboarding import explained_checks, poll_progress, preflight_target
from tenants.selectors import current_settings
from tenants.validation import SETTINGS_FIELDS


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]


class SettingsHistoryInline(admin.TabularInline):
    model = Settings
    extra = 0
    fields = [
        "last_updated",
        "changed_by",
        "polling_settings",
        "notification_settings",
        "drift_thresholds",
    ]
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    verbose_name_plural = "settings history (newest first, the first row is in force)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Customer tenants. Adding one is the onboarding screen: identity, credential, a
    Test connection (the preflight), then the first poll whose progress the page shows."""

    list_display = [
        "name",
        "slug",
        "azure_tenant_id",
        "azure_credential",
        "is_active",
        "created_at",
        "settings_link",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "azure_tenant_id"]
    inlines = [DomainInline, SettingsHistoryInline]
    actions = ["poll_now", "test_connection", "activate", "deactivate"]
    change_form_template = "admin/tenants/tenant/change_form.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        # The MSP's own tenant is not a customer; its settings are under "Settings".
        return super().get_queryset(request).exclude(schema_name=get_public_schema_name())

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs: Any):
        kwargs["form"] = TenantOnboardingForm if obj is None else TenantChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None):
        if obj is None:
            return [
                (None, {"fields": ["name", "slug", "azure_tenant_id"]}),
                (
                    "Azure credential",
                    {
                        "fields": [
                            "azure_credential",
                            "new_credential_name",
                            "new_client_id",
                            "new_client_secret",
                        ],
                        "description": (
                            "The app registration that reads this tenant (Reader on its "
                            "subscriptions, AuditLog.Read.All on Graph). Pick a stored one "
                            "or create one here."
                        ),
                    },
                ),
            ]
        return [
            (None, {"fields": ["name", "slug", "azure_tenant_id", "azure_credential"]}),
            (
                "State",
                {"fields": ["schema_name", "is_active", "created_at", "settings_link"]},
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None):
        if obj is None:
            return []
        return [
            "slug",
            "schema_name",
            "azure_tenant_id",
            "is_active",
            "created_at",
            "settings_link",
        ]

    def get_inlines(self, request: HttpRequest, obj: Tenant | None):
        return self.inlines if obj is not None else []

    def get_urls(self):
        extra = [
            path(
                "preflight/",
                self.admin_site.admin_view(self.preflight_view),
                name="tenants_tenant_preflight",
            ),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="tenants_tenant_progress",
            ),
            path(
                "<int:pk>/poll/",
                self.admin_site.admin_view(self.poll_view),
                name="tenants_tenant_poll",
            ),
        ]
        return extra + super().get_urls()

    def preflight_view(self, request: HttpRequest) -> HttpResponse:
        """Test connection: the preflight on the form's (unsaved) tenant id and credential.

        Posted by the onboarding and tenant pages' button; answers an HTML fragment the
        page shows in place, so nothing typed is lost and the secret is never echoed.
        """
        if request.method != "POST" or not self.has_change_permission(request):
            return HttpResponseNotAllowed(["POST"])
        from tenants.preflight import azure_preflight

        try:
            tenant = preflight_target(request.POST)
            report = azure_preflight(tenant=tenant)
        except ValidationError as exc:
            return TemplateResponse(
                request, "admin/tenants/preflight_report.html", {"problems": exc.messages}
            )
        return TemplateResponse(
            request,
            "admin/tenants/preflight_report.html",
            {"report": report, "checks": explained_checks(report)},
        )

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The tenant's poll state as an HTML fragment (the change page refreshes it)."""
        tenant = self.get_object(request, str(pk))
        if tenant is None:
            raise Http404
        return TemplateResponse(
            request, "admin/tenants/poll_progress.html", poll_progress(tenant=tenant)
        )

    def poll_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Poll now, from the tenant page."""
        tenant = self.get_object(request, str(pk))
        if tenant is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, tenant):
            return HttpResponseNotAllowed(["POST"])
        if tenant.azure_credential_id is None:
            self.message_user(request, "Choose an Azure credential first.", messages.ERROR)
        else:
            services.request_poll(tenant, trigger=f"admin:{request.user.username}")
            self.message_user(request, "Queued a collection pass; its progress shows below.")
        return redirect("admin:tenants_tenant_change", tenant.pk)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        tenant = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if tenant is not None:
            extra.update(poll_progress(tenant=tenant))
            extra["fleet_url"] = reverse("admin:fleet")
        return super().change_view(request, object_id, form_url, extra)

    def response_add(self, request: HttpRequest, obj: Tenant, post_url_continue=None):
        # Onboarded: stay on the tenant's page, where the first poll's progress shows.
        self.message_user(
            request,
            f"Onboarded {obj.name}. The first collection pass is queued; its progress shows below.",
            messages.SUCCESS,
        )
        return redirect("admin:tenants_tenant_change", obj.pk)

    @admin.display(description="settings")
    def settings_link(self, obj: Tenant) -> str:
        url = reverse("admin:tenants_settings_add") + f"?tenant={obj.pk}"
        return format_html('<a href="{}">Edit settings</a>', url)

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name", "azure_credential"])
            return
        data = form.cleaned_data
        credential = data.get("azure_credential")
        with transaction.atomic():
            if credential is None:
                credential = services.save_azure_credential(
                    name=data["new_credential_name"],
                    client_id=data["new_client_id"],
                    client_secret=data["new_client_secret"],
                )
            tenant = services.onboard_tenant(
                name=obj.name,
                slug=obj.slug,
                azure_tenant_id=obj.azure_tenant_id,
                actor=request.user.username,
                azure_credential=credential,
            )
        obj.pk = tenant.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description="Poll selected tenants now", permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: Any) -> None:
        tenants = list(queryset.exclude(schema_name="public").filter(is_active=True))
        for tenant in tenants:
            services.request_poll(tenant, trigger=f"admin:{request.user.username}")
        self.message_user(request, f"Queued a collection pass for {len(tenants)} tenant(s).")

    @admin.action(description="Test connection to Azure (preflight)", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: Any) -> None:
        from tenants.preflight import MAX_ADMIN_TENANTS, PreflightConfigError, azure_preflight

        tenants = list(queryset.exclude(schema_name="public").select_related("azure_credential"))
        if len(tenants) > MAX_ADMIN_TENANTS:
            self.message_user(
                request,
                f"Test at most {MAX_ADMIN_TENANTS} tenants at a time "
                "(or run manage.py azure_preflight).",
                messages.ERROR,
            )
            return
        levels = {0: messages.SUCCESS, 1: messages.WARNING, 2: messages.ERROR}
        for tenant in tenants:
            try:
                report = azure_preflight(tenant=tenant)
            except PreflightConfigError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            level = levels[report.exit_code]
            self.message_user(request, f"{tenant.slug}: {report.summary}", level)
            for check in report.checks:
                if check.status in ("failed", "warning"):
                    fix = f" Fix: {check.fix}" if check.fix else ""
                    self.message_user(
                        request, f"{tenant.slug} / {check.name}: {check.detail}.{fix}", level
                    )
            if report.exit_code == 2:
                self.message_user(
                    request, f"{tenant.slug}: admin consent URL {report.consent_url}", level
                )

    @admin.action(description="Activate selected tenants", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: Any) -> None:
        for tenant in queryset:
            services.set_tenant_active(tenant, active=True)
        self.message_user(request, f"Activated {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(
        description="Deactivate selected tenants (stop polling, block entry)",
        permissions=["change"],
    )
    def deactivate(self, request: HttpRequest, queryset: Any) -> None:
        for tenant in queryset.exclude(schema_name="public"):
            services.set_tenant_active(tenant, active=False)
        self.message_user(request, "Deactivated the selected customer tenant(s).", messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False


@admin.register(Settings)
class SettingsAdmin(admin.ModelAdmin):
    """Adding a version is how settings are edited; stored versions are read-only history."""

    form = SettingsVersionForm
    list_display = ["tenant", "last_updated", "changed_by"]
    list_filter = ["tenant"]
    readonly_fields = ["last_updated", "changed_by"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        raw = request.GET.get("tenant", "")
        # ?tenant=abc (or a NUL, or 20 digits) opens an empty form instead of a 500.
        pk = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
        tenant = Tenant.objects.filter(pk=pk).first()
        if not tenant:
            initial.pop("tenant", None)
        version = current_settings(tenant) if tenant else None
        if version is not None:
            initial.update({field: getattr(version, field) for field in SETTINGS_FIELDS})
        return initial

    def has_change_permission(self, request: HttpRequest, obj: Settings | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Settings | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Settings, form: Any, change: bool) -> None:
        version = services.update_settings(
            obj.tenant,
            actor=request.user.username,
            **{field: form.cleaned_data[field] for field in SETTINGS_FIELDS},
        )
        obj.pk = version.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(AzureCredential)
class AzureCredentialAdmin(admin.ModelAdmin):
    """App registrations; the secret and certificate are write-only and never listed."""

    form = AzureCredentialForm
    list_display = [
        "name",
        "client_id",
        "has_secret",
        "has_certificate",
        "tenant_count",
        "updated_at",
    ]
    search_fields = ["name", "client_id"]

    @admin.display(boolean=True, description="secret")
    def has_secret(self, obj: AzureCredential) -> bool:
        return bool(obj.client_secret)

    @admin.display(boolean=True, description="certificate")
    def has_certificate(self, obj: AzureCredential) -> bool:
        return bool(obj.certificate_pem)

    @admin.display(description="tenants")
    def tenant_count(self, obj: AzureCredential) -> int:
        return obj.tenants.count()
