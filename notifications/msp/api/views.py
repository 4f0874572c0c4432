"""MSP API for MSP-wide notification channels and rules, and the deliveries of those
rules in one tenant (``?tenant=<slug>``). MSP staff only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_tenants.utils import tenant_context
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import MspPermission
from notifications import services
from notifications.msp import selectors
from notifications.msp.api import serializers
from tenants.selectors import customer_tenants


class MspAutoSchema(AutoSchema):
    """Operation ids prefixed ``msp_``: the paths match the tenant notifications API's once
    the API prefix is stripped."""

    def get_operation_id(self) -> str:
        return f"msp_{super().get_operation_id()}"


class MspChannelViewSet(viewsets.ModelViewSet):
    serializer_class = serializers.MspChannelSerializer
    permission_classes = [MspPermission]
    schema = MspAutoSchema()
    read_permission = "msp_notifications.view_mspchannel"
    write_permission = "msp_notifications.change_mspchannel"

    def get_queryset(self):
        return selectors.msp_channels()

    def perform_destroy(self, instance) -> None:
        services.delete_channel(channel=instance, actor=self.request.user.get_username())


class MspRuleViewSet(viewsets.ModelViewSet):
    serializer_class = serializers.MspRuleSerializer
    permission_classes = [MspPermission]
    schema = MspAutoSchema()
    read_permission = "msp_notifications.view_mspnotificationrule"
    write_permission = "msp_notifications.change_mspnotificationrule"

    def get_queryset(self):
        return selectors.msp_rules()


class MspDeliveryViewSet(viewsets.ViewSet):
    """Deliveries of MSP rules in one tenant, newest first (``?tenant=<slug>`` required,
    ``?status=`` filters); they live in the tenant's schema."""

    permission_classes = [MspPermission]
    schema = MspAutoSchema()
    read_permission = "notifications.view_delivery"

    @extend_schema(
        parameters=[
            OpenApiParameter("tenant", OpenApiTypes.STR, required=True, description="tenant slug"),
            OpenApiParameter("status", OpenApiTypes.STR, description="delivery status"),
        ],
        responses=serializers.MspDeliverySerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        slug = request.query_params.get("tenant", "")
        if not slug:
            raise ValidationError({"tenant": "give ?tenant=<slug>"})
        tenant = get_object_or_404(customer_tenants(), slug=slug)
        with tenant_context(tenant):
            rows = selectors.msp_deliveries(status=request.query_params.get("status"))[:200]
            data = serializers.MspDeliverySerializer(
                rows, many=True, context={"request": request, "tenant": tenant}
            ).data
        return Response(data)
