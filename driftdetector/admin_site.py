"""The MSP's admin site: MSP staff only, with the fleet page beside the model admins."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from accounts.access import user_is_msp


class DriftAdminSite(admin.AdminSite):
    site_header = "Azure Drift Detector"
    site_title = "Azure Drift Detector"
    index_title = "MSP administration"
    index_template = "admin/drift_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff of the MSP tenant only; customer users never see the public admin."""
        return super().has_permission(request) and user_is_msp(request.user)

    def get_urls(self):
        return [path("fleet/", self.admin_view(self.fleet_view), name="fleet"), *super().get_urls()]

    def fleet_view(self, request: HttpRequest) -> TemplateResponse:
        """Every customer tenant with its schedule; the drift dashboard will extend this."""
        from tenants.selectors import fleet_rows

        context = {
            **self.each_context(request),
            "title": "Fleet",
            "rows": fleet_rows(),
        }
        return TemplateResponse(request, "admin/fleet.html", context)


class TenantAdminSite(admin.AdminSite):
    """The admin inside one customer tenant (``/t/<slug>/admin/``), for MSP staff.

    The tenant middleware has already decided the user may enter this tenant and has
    switched the connection to its schema.
    """

    site_header = "Azure Drift Detector - tenant"
    site_title = "Azure Drift Detector"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and user_is_msp(request.user)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} - Azure Drift Detector"
            context["index_title"] = f"{tenant.name} ({tenant.slug})"
        return context


tenant_admin_site = TenantAdminSite(name="tenant_admin")
