"""Tenant URLs, served under /t/<slug>/ by ``tenants.middleware.TenantPathMiddleware``."""

from django.urls import include, path

from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.tenant_home, name="tenant-home"),
    path("api/v1/", include("tenants.api.urls_tenant")),
]
