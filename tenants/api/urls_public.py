from django.urls import path

from tenants.api import views

urlpatterns = [
    path("tenants/", views.TenantListCreate.as_view(), name="api-tenant-list"),
]
