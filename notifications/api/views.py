"""Tenant API for notifications: channels (with test and secret rotation), rules,
deliveries with attempts (with resend), snoozes."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import user_is_msp
from accounts.api.permissions import TenantAccess
from notifications import selectors, services
from notifications.api import serializers
from notifications.models import NotificationRule, Snooze


class ChannelViewSet(viewsets.ModelViewSet):
    serializer_class = serializers.ChannelSerializer
    permission_classes = [TenantAccess]
    read_permission = "notifications.view_channel"
    write_permission = "notifications.change_channel"

    def get_queryset(self):
        return selectors.channels()

    def perform_destroy(self, instance) -> None:
        services.delete_channel(channel=instance, actor=self.request.user.get_username())

    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a test message now; answers with what the receiver said."""
        attempt = services.send_test(channel=self.get_object(), actor=request.user.get_username())
        return Response(serializers.AttemptSerializer(attempt).data)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """Set a new signing secret (body ``{"secret": "whsec_..."}``); the old one stays
        valid for a day."""
        try:
            channel = services.rotate_secret(
                channel=self.get_object(),
                actor=request.user.get_username(),
                secret=str(request.data.get("secret", "")),
            )
        except DjangoValidationError as exc:
            raise serializers.as_drf_error(exc) from None
        return Response(self.get_serializer(channel).data)


class RuleViewSet(viewsets.ModelViewSet):
    serializer_class = serializers.RuleSerializer
    permission_classes = [TenantAccess]
    read_permission = "notifications.view_notificationrule"
    write_permission = "notifications.change_notificationrule"
    queryset = NotificationRule.objects.prefetch_related("channels")


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Deliveries newest first with their attempts; ``?status=`` and ``?channel=`` filter."""

    serializer_class = serializers.DeliverySerializer
    permission_classes = [TenantAccess]
    read_permission = "notifications.view_delivery"
    write_permission = "notifications.change_delivery"

    def get_queryset(self):
        params = self.request.query_params
        return selectors.deliveries(
            status=params.get("status"),
            channel=params.get("channel"),
            with_msp=user_is_msp(self.request.user),
        )

    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.resend(delivery=self.get_object(), actor=request.user.get_username())
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class SnoozeViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = serializers.SnoozeSerializer
    permission_classes = [TenantAccess]
    read_permission = "notifications.view_snooze"
    write_permission = "notifications.add_snooze"
    queryset = Snooze.objects.all()
