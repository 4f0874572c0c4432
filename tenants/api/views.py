"""Tenant API: the MSP's tenants (onboard, deactivate, poll now), Azure credentials (with a
connection test), the fleet summary, and a tenant's own settings."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import MspPermission, TenantAccess
from driftdetector.azure.preflight import PreflightReport
from tenants import services
from tenants.api.serializers import (
    AzureCredentialSerializer,
    FleetRowSerializer,
    OnboardSerializer,
    SettingsSerializer,
    TenantSerializer,
    as_drf_error,
    fleet_row_data,
)
from tenants.models import AzureCredential, Tenant
from tenants.models import Settings as TenantSettings
from tenants.preflight import PreflightConfigError, azure_preflight
from tenants.selectors import current_settings, customer_tenants, fleet_rows

PreflightSerializer = inline_serializer(
    "PreflightReport",
    {
        "tenant_id": serializers.CharField(),
        "exit_code": serializers.IntegerField(),
        "summary": serializers.CharField(),
        "consent_url": serializers.CharField(),
        "checks": serializers.ListField(child=serializers.DictField()),
    },
)


class TenantViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Customer tenants. POST onboards one (with an existing credential id or a new
    credential in the same call), as the admin and the CLI do."""

    permission_classes = [MspPermission]
    read_permission = "tenants.view_tenant"
    write_permission = "tenants.add_tenant"
    filterset_fields = ["is_active", "slug"]

    def get_queryset(self):
        return customer_tenants().order_by("name", "pk")

    def get_serializer_class(self):
        return OnboardSerializer if self.action == "create" else TenantSerializer

    @extend_schema(responses={201: TenantSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        new_credential = data.pop("new_credential", None)
        actor = request.user.get_username()
        try:
            if new_credential:
                tenant = services.onboard_tenant_with_credential(
                    actor=actor, credential=new_credential, **data
                )
            else:
                tenant = services.onboard_tenant(actor=actor, **data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)

    def _set_active(self, active: bool) -> Response:
        if not self.request.user.has_perm("tenants.change_tenant"):
            self.permission_denied(self.request)
        tenant = services.set_tenant_active(self.get_object(), active=active)
        return Response(TenantSerializer(tenant).data)

    @extend_schema(request=None, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        """Stop polling the tenant and close it to its users (its data stays)."""
        return self._set_active(False)

    @extend_schema(request=None, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Open the tenant again and resume its polling schedule."""
        return self._set_active(True)

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Poll queued.")})
    @action(detail=True, methods=["post"], url_path="poll-now")
    def poll_now(self, request: Request, pk: str | None = None) -> Response:
        """Queue a collection pass of the tenant now."""
        tenant = self.get_object()
        if not tenant.is_active:
            raise serializers.ValidationError({"tenant": ["The tenant is inactive."]})
        services.request_poll(tenant, trigger=f"api:{request.user.get_username()}")
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=PreflightSerializer)
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request: Request, pk: str | None = None) -> Response:
        """Run the Azure preflight with the tenant's credential: every read a pass makes."""
        try:
            report: PreflightReport = azure_preflight(tenant=self.get_object())
        except PreflightConfigError as exc:
            raise serializers.ValidationError({"azure_credential": [str(exc)]}) from exc
        return Response(report.as_dict())


class AzureCredentialViewSet(viewsets.ModelViewSet):
    """App registrations used to read customer tenants (secrets are write-only)."""

    serializer_class = AzureCredentialSerializer
    permission_classes = [MspPermission]
    read_permission = "tenants.view_azurecredential"
    write_permission = "tenants.change_azurecredential"
    queryset = AzureCredential.objects.order_by("name", "pk")
    filterset_fields = ["name"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer) -> None:
        try:
            serializer.instance = services.save_azure_credential(**serializer.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc

    def perform_update(self, serializer) -> None:
        data = {
            "name": serializer.instance.name,
            "client_id": serializer.instance.client_id,
            "client_secret": serializer.instance.client_secret,
            "certificate_pem": serializer.instance.certificate_pem,
            **serializer.validated_data,
        }
        try:
            serializer.instance = services.save_azure_credential(**data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc

    def perform_destroy(self, instance: AzureCredential) -> None:
        if Tenant.objects.filter(azure_credential=instance).exists():
            raise serializers.ValidationError(
                {"detail": "Tenants use this credential; assign them another one first."}
            )
        instance.delete()

    @extend_schema(
        request=inline_serializer("CredentialTest", {"azure_tenant_id": serializers.UUIDField()}),
        responses=PreflightSerializer,
    )
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request: Request, pk: str | None = None) -> Response:
        """Run the Azure preflight with this credential against ``azure_tenant_id``."""
        field = serializers.UUIDField()
        raw = request.data.get("azure_tenant_id") if isinstance(request.data, dict) else None
        try:
            azure_tenant_id = str(field.run_validation(raw))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"azure_tenant_id": exc.detail}) from exc
        probe = Tenant(
            slug="connection-test",
            azure_tenant_id=azure_tenant_id,
            azure_credential=self.get_object(),
        )
        return Response(azure_preflight(tenant=probe).as_dict())


class FleetView(APIView):
    """Every customer tenant with its poll state and open drift by severity."""

    permission_classes = [MspPermission]
    read_permission = "tenants.view_tenant"

    @extend_schema(responses=FleetRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(fleet_row_data(fleet_rows()))


class TenantSettingsView(APIView):
    """GET the settings in force; PATCH stores a new version (older ones stay as history);
    a PATCH that changes nothing stores nothing."""

    permission_classes = [TenantAccess]
    read_permission = "tenants.view_settings"
    write_permission = "tenants.change_settings"

    @extend_schema(responses=SettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(SettingsSerializer(current_settings(request.tenant)).data)

    @extend_schema(request=SettingsSerializer, responses=SettingsSerializer)
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


class SettingsVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every stored settings version of the tenant, newest first."""

    serializer_class = SettingsSerializer
    permission_classes = [TenantAccess]
    read_permission = "tenants.view_settings"

    queryset = TenantSettings.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TenantSettings.objects.none()
        return TenantSettings.objects.filter(tenant=self.request.tenant).order_by(
            "-last_updated", "-id"
        )


class TenantApiRoot(APIView):
    """Index of the tenant API."""

    permission_classes = [TenantAccess]

    @extend_schema(
        responses=inline_serializer(
            "TenantApiRoot",
            {
                "tenant": serializers.DictField(),
                "settings": serializers.URLField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        tenant = request.tenant
        links = {
            name: request.build_absolute_uri(f"{name}/")
            for name in (
                "settings",
                "settings/versions",
                "configurations",
                "poll-runs",
                "drift/findings",
                "drift/reports",
                "drift/baselines",
                "drift/exceptions",
                "notifications/channels",
                "notifications/rules",
                "notifications/deliveries",
            )
        }
        return Response(
            {"tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name}, **links}
        )
