"""The URL space the OpenAPI schema describes: MSP-wide endpoints and, with ``{slug}`` as a
path parameter, every tenant's endpoints (served under /t/<slug>/ by the tenant
middleware, so the root urlconf alone cannot show them)."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("tenants.api.urls_public")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("drift.api.urls_public")),
    path("api/v1/", include("notifications.msp.api.urls")),
    path("t/<slug:slug>/api/v1/", include("tenants.api.urls_tenant")),
]
