"""Admin for tenants, domains and settings versions; writes go through ``tenants.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from tenants import services
from tenants.forms import AzureCredentialForm, SettingsVersionForm, TenantOnboardingForm
from tenants.models import AzureCredential, Domain, Settings, Tenant
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
    list_display = ["name", "slug", "azure_tenant_id", "is_active", "created_at", "settings_link"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "azure_tenant_id"]
    inlines = [DomainInline, SettingsHistoryInline]
    actions = ["poll_now", "test_connection", "activate", "deactivate"]

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs: Any):
        if obj is None:
            kwargs["form"] = TenantOnboardingForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None):
        if obj is None:
            return ["name", "slug", "azure_tenant_id"]
        return [
            "name",
            "slug",
            "schema_name",
            "azure_tenant_id",
            "is_active",
            "created_at",
            "settings_link",
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

    @admin.display(description="settings")
    def settings_link(self, obj: Tenant) -> str:
        url = reverse("admin:tenants_settings_add") + f"?tenant={obj.pk}"
        return format_html('<a href="{}">Edit settings</a>', url)

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        tenant = services.onboard_tenant(
            name=obj.name,
            slug=obj.slug,
            azure_tenant_id=obj.azure_tenant_id,
            actor=request.user.username,
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
