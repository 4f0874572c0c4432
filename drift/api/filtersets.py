"""Declared filters of the drift lists."""

from __future__ import annotations

import django_filters

from drift.choices import SEVERITIES, severity_rank
from drift.models import DriftException, DriftFinding, DriftReport
from driftdetector.api.filters import UtcDateTimeFilter

SEVERITY_CHOICES = [(s, s) for s in SEVERITIES]


class FindingFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=DriftFinding.Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=SEVERITY_CHOICES)
    min_severity = django_filters.ChoiceFilter(
        choices=SEVERITY_CHOICES, method="filter_min_severity", label="At least this severe"
    )
    kind = django_filters.CharFilter(max_length=10)
    resource_type = django_filters.CharFilter(method="filter_lower", max_length=200)
    resource_id = django_filters.CharFilter(method="filter_lower", max_length=1024)
    flapping = django_filters.BooleanFilter()
    last_report = django_filters.NumberFilter(min_value=1, max_value=2**31 - 1)
    order = django_filters.ChoiceFilter(
        choices=[("severity", "severity"), ("newest", "newest")],
        method="keep",
        label="severity: most severe first (rank, not name); newest: default",
    )

    # Validated here, applied by FindingPagination (see driftdetector.api.filters).
    paginator_params = ("order",)

    class Meta:
        model = DriftFinding
        fields = ["status", "severity", "kind", "resource_type", "resource_id", "flapping"]

    def filter_min_severity(self, queryset, name, value):
        wanted = [s for s in SEVERITIES if severity_rank(s) >= severity_rank(value)]
        return queryset.filter(severity__in=wanted)

    def filter_lower(self, queryset, name, value):
        return queryset.filter(**{name: value.lower()})

    def keep(self, queryset, name, value):
        return queryset  # ordering is the paginator's


class ReportFilterSet(django_filters.FilterSet):
    started_after = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt")
    drifted = django_filters.BooleanFilter(method="filter_drifted")

    class Meta:
        model = DriftReport
        fields = ["started_after", "started_before", "drifted"]

    def filter_drifted(self, queryset, name, value):
        return (
            queryset.filter(resources_drifted__gt=0)
            if value
            else queryset.filter(resources_drifted=0)
        )


class ExceptionFilterSet(django_filters.FilterSet):
    expires_after = UtcDateTimeFilter(field_name="expires_at", lookup_expr="gte")

    class Meta:
        model = DriftException
        fields = ["expires_after"]
