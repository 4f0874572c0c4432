"""Light serialization of list pages: ``values()`` rows formatted as the serializer would.

A DRF ModelSerializer spends most of a 50-row page in per-field calls (attribute lookup,
``to_representation``, time zone handling for every datetime) and in building its fields
for every request. For serializers made only of plain fields, ``plan`` reads the fields
once per class and ``represent`` formats each row with a plain function per field. The
output is the serializer's own (tests/api/test_light.py compares both on the same rows);
a serializer with a field this module does not know is refused when planned, never
formatted differently. The schema is still generated from the serializer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import cache
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from driftdetector.api.fields import TenantField

ZERO = timedelta(0)
TENANT = object()  # the step that writes the request's tenant
COMPUTED = object()  # a SerializerMethodField: the view gives a function of the row


def _same(value: Any) -> Any:
    return value


def _str(value: Any) -> Any:
    return None if value is None else str(value)


def _int(value: Any) -> Any:
    return None if value is None else int(value)


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _datetime(value: Any) -> Any:
    """DRF's ISO 8601 output for a UTC value while the current time zone is UTC (the
    serializer's own case: ``...Z``); other offsets go through DRF itself."""
    if not value:
        return None
    if value.utcoffset() == ZERO:
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _datetime_drf(value)


def _datetime_drf(value: Any) -> Any:
    """DRF's own formatting (used when the current time zone is not UTC)."""
    return serializers.DateTimeField().to_representation(value) if value else None


# Exact classes only: a subclass may format differently, and is refused.
CONVERTERS: dict[type, Callable[[Any], Any]] = {
    serializers.CharField: _str,
    serializers.ChoiceField: _same,
    serializers.IntegerField: _int,
    serializers.BigIntegerField: _int,
    serializers.FloatField: _float,
    serializers.BooleanField: _same,
    serializers.DateTimeField: _datetime,
    serializers.JSONField: _same,
    serializers.PrimaryKeyRelatedField: _same,
    serializers.ReadOnlyField: _same,
}


@cache
def plan(serializer_class: type[serializers.Serializer]) -> tuple[tuple[str, ...], tuple]:
    """The ``values()`` columns and (name, column, converter) steps of a serializer."""
    columns: list[str] = []
    steps: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        if type(field) is TenantField:
            steps.append((name, TENANT, None))
            continue
        if type(field) is serializers.SerializerMethodField:
            steps.append((name, COMPUTED, None))
            continue
        convert = CONVERTERS.get(type(field))
        if convert is None or field.source == "*" or "." in field.source:
            raise TypeError(f"{serializer_class.__name__}.{name}: not a plain field")
        if type(field) is serializers.JSONField and field.binary:
            raise TypeError(f"{serializer_class.__name__}.{name}: binary JSON")
        if type(field) is serializers.DateTimeField and getattr(field, "format", None):
            raise TypeError(f"{serializer_class.__name__}.{name}: own datetime format")
        if type(field) is serializers.BigIntegerField and getattr(
            field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
        ):
            raise TypeError(f"{serializer_class.__name__}.{name}: big integer as a string")
        columns.append(field.source)
        steps.append((name, field.source, convert))
    return tuple(columns), tuple(steps)


def rows(
    queryset: QuerySet, serializer_class: type[serializers.Serializer], extra: Iterable[str] = ()
) -> QuerySet:
    """``queryset`` as the dict rows ``represent`` formats: only the serializer's columns,
    and ``extra`` ones (an annotation a cursor orders by, a column a computed field reads)."""
    columns = plan(serializer_class)[0]
    return queryset.values(*columns, *(c for c in extra if c not in columns))


def represent(
    page: Iterable[dict[str, Any]],
    serializer_class: type[serializers.Serializer],
    tenant: Any,
    computed: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
) -> list[dict[str, Any]]:
    """The serializer's output for ``page`` (rows from ``rows``), in ``tenant``;
    ``computed`` gives each SerializerMethodField's value from the row."""
    computed = computed or {}
    utc = timezone.get_current_timezone_name() == "UTC"
    steps = [
        (
            name,
            column,
            computed[name]
            if column is COMPUTED
            else (_datetime_drf if convert is _datetime and not utc else convert),
        )
        for name, column, convert in plan(serializer_class)[1]
    ]
    ref = {"id": tenant.pk, "slug": tenant.slug}
    out = []
    for row in page:
        item = {}
        for name, column, convert in steps:
            if column is TENANT:
                item[name] = dict(ref)
            elif column is COMPUTED:
                item[name] = convert(row)
            else:
                item[name] = convert(row[column])
        out.append(item)
    return out


class LightListMixin:
    """List pages from ``values()`` rows formatted by ``represent`` (the serializer's
    output without its per-field cost; only the listed columns are read). A view with a
    SerializerMethodField gives ``light_computed``; ``light_columns`` adds columns."""

    light_columns: tuple[str, ...] = ()

    def light_computed(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {}

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        serializer_class = self.get_serializer_class()
        queryset = rows(
            self.filter_queryset(self.get_queryset()), serializer_class, self.light_columns
        )
        page = self.paginate_queryset(queryset)
        data = represent(page, serializer_class, request.tenant, self.light_computed())
        return self.get_paginated_response(data)


class LightRetrieveMixin(LightListMixin):
    """Lists as ``LightListMixin`` does, and a detail as one ``values()`` row formatted by
    ``represent``: DRF's ``get_object`` (the filtered queryset, the lookup, a 404 for a
    missing or malformed key) without building the serializer's fields for every call.
    A view whose permissions look at the object itself keeps DRF's own retrieve."""

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if any(
            type(permission).has_object_permission is not BasePermission.has_object_permission
            for permission in self.get_permissions()
        ):
            return super().retrieve(request, *args, **kwargs)
        serializer_class = self.get_serializer_class()
        queryset = rows(
            self.filter_queryset(self.get_queryset()), serializer_class, self.light_columns
        )
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        row = get_object_or_404(queryset, **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        data = represent([row], serializer_class, request.tenant, self.light_computed())[0]
        return Response(data)
