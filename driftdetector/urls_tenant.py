"""Tenant URLs, served under /t/<slug>/ by ``tenants.middleware.TenantPathMiddleware``."""

from django.urls import include, path

from driftdetector.admin_site import tenant_admin_site
from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.tenant_home, name="tenant-home"),
    path("admin/", tenant_admin_site.urls),
    path("api/v1/", include("tenants.api.urls_tenant")),
]

handler400 = "driftdetector.api.problems.handler400"
handler403 = "driftdetector.api.problems.handler403"
handler404 = "driftdetector.api.problems.handler404"
handler500 = "driftdetector.api.problems.handler500"
