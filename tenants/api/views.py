"""Tenant API: the MSP's tenant list/onboarding, and a tenant's own settings."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import MspPermission, TenantAccess
from tenants import services
from tenants.api.serializers import SettingsSerializer, TenantSerializer, as_drf_error
from tenants.selectors import current_settings, customer_tenants


class TenantListCreate(generics.ListCreateAPIView):
    """GET: every customer tenant. POST: onboard one (same service as admin and CLI)."""

    serializer_class = TenantSerializer
    permission_classes = [MspPermission]
    read_permission = "tenants.view_tenant"
    write_permission = "tenants.add_tenant"

    def get_queryset(self):
        return customer_tenants().order_by("name")

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tenant = services.onboard_tenant(
                actor=request.user.username, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantSettingsView(APIView):
    """GET the settings in force; PATCH stores a new version (older ones stay as history)."""

    permission_classes = [TenantAccess]
    read_permission = "tenants.view_settings"
    write_permission = "tenants.change_settings"

    def get(self, request: Request) -> Response:
        return Response(SettingsSerializer(current_settings(request.tenant)).data)

    def patch(self, request: Request) -> Response:
        serializer = SettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            version = services.update_settings(
                request.tenant, actor=request.user.username, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SettingsSerializer(version).data)


class TenantApiRoot(APIView):
    """Index of the tenant API."""

    permission_classes = [TenantAccess]

    def get(self, request: Request) -> Response:
        tenant = request.tenant
        return Response(
            {
                "tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name},
                "settings": request.build_absolute_uri("settings/"),
            }
        )
