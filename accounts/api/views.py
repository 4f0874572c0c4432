"""``/api/v1/tokens/``: a user's own API tokens (the clear token appears once, on creation);
``/api/v1/users/`` and ``/api/v1/roles/``: MSP staff manage users and read the roles."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import MspPermission, OwnTokens
from accounts.api.serializers import (
    ApiTokenSerializer,
    InviteSerializer,
    NewApiTokenSerializer,
    RoleSerializer,
    UserSerializer,
)
from accounts.models import ApiToken, Role, User
from accounts.services import create_api_token, invite_user, revoke_api_token, set_user_active


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List your tokens (never the secret), create one (its secret is in this answer only)
    or revoke one (DELETE; another user's token is a 404)."""

    serializer_class = ApiTokenSerializer
    permission_classes = [OwnTokens]
    filterset_fields = ["read_only"]
    queryset = ApiToken.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(responses={201: NewApiTokenSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token, clear = create_api_token(
                user=request.user, request=request, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        body = {**ApiTokenSerializer(token).data, "token": clear}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def perform_destroy(self, instance: ApiToken) -> None:
        revoke_api_token(token=instance, actor=self.request.user, request=self.request)


class UserViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Users of every tenant (MSP staff). POST invites one: no password is set; they sign
    in with Microsoft or through a password reset."""

    permission_classes = [MspPermission]
    read_permission = "accounts.view_user"
    write_permission = "accounts.add_user"
    filterset_fields = {"tenant__slug": ["exact"], "role__name": ["exact"], "is_active": ["exact"]}

    def get_queryset(self):
        return User.objects.select_related("tenant", "role").order_by("username", "pk")

    def get_serializer_class(self):
        return InviteSerializer if self.action == "create" else UserSerializer

    @extend_schema(request=InviteSerializer, responses={201: UserSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = InviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            user = invite_user(actor=request.user.get_username(), **body.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        """Lock the user out (sessions and tokens stop working)."""
        if not request.user.has_perm("accounts.change_user"):
            self.permission_denied(request)
        user = self.get_object()
        if user.pk == request.user.pk:
            raise serializers.ValidationError({"detail": "You cannot deactivate yourself."})
        return Response(UserSerializer(set_user_active(user=user, active=False)).data)


class RoleViewSet(viewsets.ReadOnlyModelViewSet):
    """The roles and the permissions each grants."""

    serializer_class = RoleSerializer
    permission_classes = [MspPermission]
    read_permission = "accounts.view_role"
    queryset = Role.objects.order_by("name", "pk")
    filterset_fields = ["scope"]
