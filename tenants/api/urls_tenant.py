from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tenants.api import views

router = SimpleRouter()
router.register("settings/versions", views.SettingsVersionViewSet, basename="api-settings-version")

urlpatterns = [
    path("", views.TenantApiRoot.as_view(), name="tenant-api-root"),
    path("settings/", views.TenantSettingsView.as_view(), name="tenant-api-settings"),
    *router.urls,
    path("", include("configurations.api.urls")),
    path("", include("drift.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("auditlog.api.urls")),
]
