"""Public URLs: admin, login, health, the MSP-wide API. Tenant URLs live under /t/<slug>/."""

from django.contrib import admin
from django.urls import include, path

from driftdetector import health
from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tenants.api.urls_public")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("notifications.msp.api.urls")),
]
