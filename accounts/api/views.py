"""``/api/v1/tokens/``: a user's own API tokens (the clear token appears once, on creation)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import OwnTokens
from accounts.models import ApiToken
from accounts.services import create_api_token, revoke_api_token


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "read_only",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenListCreate(generics.ListCreateAPIView):
    """List your tokens (never the secret) or create one (its secret is in this answer only)."""

    serializer_class = ApiTokenSerializer
    permission_classes = [OwnTokens]

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

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


class ApiTokenRevoke(generics.GenericAPIView):
    """``DELETE``: revoke one of your tokens (another user's token is a 404)."""

    permission_classes = [OwnTokens]
    serializer_class = ApiTokenSerializer

    def delete(self, request: Request, pk: int) -> Response:
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        revoke_api_token(token=token, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
