"""Public URLs: admin, login, health, the MSP-wide API. Tenant URLs live under /t/<slug>/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from driftdetector import health
from driftdetector.metrics_scrape import metrics_view
from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tenants.api.urls_public")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("notifications.msp.api.urls")),
    path("api/v1/", include("drift.api.urls_public")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(urlconf="driftdetector.urls_schema"),
        name="api-schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

handler400 = "driftdetector.api.problems.handler400"
handler403 = "driftdetector.api.problems.handler403"
handler404 = "driftdetector.api.problems.handler404"
handler500 = "driftdetector.api.problems.handler500"
