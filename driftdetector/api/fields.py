"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class TenantRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()


@extend_schema_field(TenantRefSerializer)
class TenantField(serializers.Field):
    """``{id, slug}`` of the request's tenant: a record that leaves its schema says whose
    it is."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, Any]:
        tenant = self.context["request"].tenant
        return {"id": tenant.pk, "slug": tenant.slug}
