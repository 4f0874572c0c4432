"""Filters shared by the apps' FilterSets."""

from __future__ import annotations

from datetime import UTC

import django_filters
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
