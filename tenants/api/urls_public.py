from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api import views

router = SimpleRouter()
router.register("tenants", views.TenantViewSet, basename="api-tenant")
router.register("azure-credentials", views.AzureCredentialViewSet, basename="api-credential")

urlpatterns = [
    *router.urls,
    path("fleet/", views.FleetView.as_view(), name="api-fleet"),
]
