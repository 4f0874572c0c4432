from django.urls import include, path

from tenants.api import views

urlpatterns = [
    path("", views.TenantApiRoot.as_view(), name="tenant-api-root"),
    path("settings/", views.TenantSettingsView.as_view(), name="tenant-api-settings"),
    path("", include("configurations.api.urls")),
    path("", include("drift.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("auditlog.api.urls")),
]
