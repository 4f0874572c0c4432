"""Filters shared by the apps' FilterSets."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC: PostgreSQL refuses offsets beyond ±15:59 that
    ISO 8601 allows, and an instant outside the representable years is a 400."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except (OverflowError, ValueError) as exc:
                raise ValidationError({self.field_name: ["The instant is out of range."]}) from exc
        return super().filter(qs, value)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which skips building the FilterSet (a form and deep copies
    of every filter, a tenth of a list page) when the query string names none of its
    filters: every filter then has an empty value and leaves the queryset as it is.

    Names in the FilterSet's ``paginator_params`` (declared for the schema and for
    validation, applied by the paginator) do not count; their values are still checked
    here, so a bad one is the same 400. A FilterSet that overrides ``filter_queryset``
    always runs."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or (
            filterset_class.filter_queryset is not django_filters.FilterSet.filter_queryset
        ):
            return super().filter_queryset(request, queryset, view)
        passive = getattr(filterset_class, "paginator_params", ())
        named = {
            name
            for key in request.query_params
            for name in filterset_class.base_filters
            if key.startswith(name)
        }
        if named - set(passive):
            return super().filter_queryset(request, queryset, view)
        for name in named:
            try:
                filterset_class.base_filters[name].field.clean(request.query_params.get(name))
            except DjangoValidationError as exc:
                raise ValidationError({name: exc.messages}) from exc
        return queryset
