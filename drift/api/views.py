"""Tenant API for drift: findings (with their actions), reports (with their findings and
exports), baselines and exceptions; and the MSP's cross-tenant findings search."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import MspPermission, TenantAccess
from drift import selectors, services
from drift.api import filtersets
from drift.api import serializers as drift_serializers
from drift.api.exports import export_response
from drift.choices import rank_expression, rank_sql
from drift.models import Baseline, DriftException, DriftFinding, DriftReport
from driftdetector.api.light import LightListMixin
from driftdetector.api.pagination import MAX_PAGE_SIZE, CursorPagination
from tenants.api.serializers import as_drf_error

EXPORT_FORMAT = OpenApiParameter(
    "as", str, enum=["csv", "json"], description="csv (default, streamed) or json"
)
EXPORT_RESPONSE = {
    (200, "text/csv"): OpenApiTypes.STR,
    (200, "application/json"): OpenApiTypes.OBJECT,
}


class FindingPagination(CursorPagination):
    """Newest first; ``?order=severity``: most severe first by rank (critical, high,
    medium, low), newest first within a rank."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        if request.query_params.get("order") == "severity":
            return ("-severity_rank", "-id")
        return ("-id",)


def _actor(request: Request) -> str:
    return request.user.get_username()


# rank_expression() as SQL text, built once (the table is the query's base, never aliased).
_FINDING_RANK = rank_sql(f'"{DriftFinding._meta.db_table}"."severity"')


class FindingViewSet(LightListMixin, viewsets.ReadOnlyModelViewSet):
    """Drift findings with the rule that rated each; POST actions change their status."""

    serializer_class = drift_serializers.FindingSerializer
    permission_classes = [TenantAccess]
    read_permission = "drift.view_driftfinding"
    write_permission = "drift.change_driftfinding"
    filterset_class = filtersets.FindingFilterSet
    pagination_class = FindingPagination
    light_columns = ("severity_rank", "matched_rule")

    def get_queryset(self):
        return DriftFinding.objects.annotate(severity_rank=_FINDING_RANK)

    def light_computed(self) -> dict[str, Any]:
        index = selectors.rule_index(self.request.tenant)  # once per page
        return {"rule": lambda row: selectors.rule_details_by_name(row["matched_rule"], index)}

    def _after(self, changed: int) -> Response:
        finding = self.get_queryset().get(pk=self.kwargs["pk"])
        body = {"changed": changed, "finding": self.get_serializer(finding).data}
        return Response(body)

    @extend_schema(request=None, responses=drift_serializers.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Mark an open finding as seen and being handled."""
        finding = self.get_object()
        changed = services.set_findings_status(
            [finding.pk], DriftFinding.Status.ACKNOWLEDGED, actor=_actor(request)
        )
        return self._after(changed)

    @extend_schema(request=None, responses=drift_serializers.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Put an acknowledged finding back to open."""
        finding = self.get_object()
        changed = services.set_findings_status(
            [finding.pk], DriftFinding.Status.OPEN, actor=_actor(request)
        )
        return self._after(changed)

    @extend_schema(request=None, responses=drift_serializers.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Accept the resource's current configuration into the active baseline."""
        finding = self.get_object()
        try:
            changed = services.accept_into_baseline([finding.pk], actor=_actor(request))
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return self._after(changed)

    @extend_schema(
        request=drift_serializers.ExceptionRequestSerializer,
        responses=drift_serializers.ActionResultSerializer,
    )
    @action(detail=True, methods=["post"])
    def exception(self, request: Request, pk: str | None = None) -> Response:
        """Accept the current value as a deviation until ``expires_at``, saying why."""
        if not request.user.has_perm("drift.add_driftexception"):
            self.permission_denied(request)
        finding = self.get_object()
        body = drift_serializers.ExceptionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            created = services.create_exceptions(
                [finding.pk], actor=_actor(request), **body.validated_data
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return self._after(len(created))

    @extend_schema(
        request=drift_serializers.IgnorePathRequestSerializer,
        responses=drift_serializers.ActionResultSerializer,
    )
    @action(detail=True, methods=["post"], url_path="ignore-path")
    def ignore_path(self, request: Request, pk: str | None = None) -> Response:
        """Add a rule that ignores this path on the resource, its type or its resource
        group (a new settings version) and resolve the finding."""
        if not request.user.has_perm("tenants.change_settings"):
            self.permission_denied(request)
        finding = self.get_object()
        body = drift_serializers.IgnorePathRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            added = services.ignore_finding_paths(
                [finding.pk], actor=_actor(request), scope=body.validated_data["scope"]
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return self._after(added)

    @extend_schema(parameters=[EXPORT_FORMAT], responses=EXPORT_RESPONSE, filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def export(self, request: Request) -> Any:
        """Every open or acknowledged finding, most severe first."""
        findings = (
            DriftFinding.objects.filter(status__in=services.UNRESOLVED)
            .order_by(rank_expression().desc(), "resource_id")
            .iterator(chunk_size=2000)
        )
        fmt = "json" if request.query_params.get("as") == "json" else "csv"
        return export_response(findings, request.tenant, fmt, "open-findings")


class ReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Detection passes, newest first, with the findings each touched and their exports."""

    serializer_class = drift_serializers.ReportSerializer
    permission_classes = [TenantAccess]
    read_permission = "drift.view_driftreport"
    filterset_class = filtersets.ReportFilterSet
    pagination_class = CursorPagination
    queryset = DriftReport.objects.all()

    @extend_schema(
        responses=drift_serializers.FindingSerializer(many=True),
        parameters=[
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE})
        ],
        filters=False,
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def findings(self, request: Request, pk: str | None = None) -> Response:
        """The findings this report opened, updated or resolved, most severe first."""
        report = self.get_object()
        raw = request.query_params.get("limit", str(MAX_PAGE_SIZE))
        if not raw.isdigit() or not 1 <= int(raw[:6]) <= MAX_PAGE_SIZE or len(raw) > 6:
            raise ValidationError({"limit": [f"Give a whole number from 1 to {MAX_PAGE_SIZE}."]})
        findings = report.findings.order_by(rank_expression().desc(), "resource_id")[: int(raw)]
        return Response(
            drift_serializers.FindingSerializer(
                findings, many=True, context=self.get_serializer_context()
            ).data
        )

    @extend_schema(parameters=[EXPORT_FORMAT], responses=EXPORT_RESPONSE, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def export(self, request: Request, pk: str | None = None) -> Any:
        """The report's summary and findings as CSV or JSON."""
        report = self.get_object()
        fmt = "json" if request.query_params.get("as") == "json" else "csv"
        summary = {
            "report": {
                "id": report.pk,
                "started_at": report.started_at,
                "finished_at": report.finished_at,
                "resources_compared": report.resources_compared,
                "resources_drifted": report.resources_drifted,
                "by_severity": report.by_severity,
                "by_kind": report.by_kind,
            }
        }
        findings = report.findings.order_by(rank_expression().desc(), "resource_id").iterator(
            chunk_size=2000
        )
        return export_response(findings, request.tenant, fmt, f"drift-report-{report.pk}", summary)


class BaselineViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Approved configurations; POST makes the present configuration of the tenant, a
    subscription or a resource group the active baseline."""

    serializer_class = drift_serializers.BaselineSerializer
    permission_classes = [TenantAccess]
    read_permission = "drift.view_baseline"
    write_permission = "drift.add_baseline"
    filterset_fields = ["active"]

    def get_queryset(self):
        return drift_serializers.with_entry_counts(Baseline.objects.order_by("-created_at", "-id"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        baseline = services.create_baseline(actor=_actor(request), **serializer.validated_data)
        baseline = self.get_queryset().get(pk=baseline.pk)
        return Response(self.get_serializer(baseline).data, status=status.HTTP_201_CREATED)


class ExceptionViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Accepted deviations (made with a finding's ``exception`` action); DELETE ends one."""

    serializer_class = drift_serializers.ExceptionSerializer
    permission_classes = [TenantAccess]
    read_permission = "drift.view_driftexception"
    write_permission = "drift.delete_driftexception"
    filterset_class = filtersets.ExceptionFilterSet
    queryset = DriftException.objects.order_by("-approved_at", "-id")


class FleetFindingSearch(APIView):
    """MSP staff: findings across every tenant they may enter, most severe first; each row
    names its tenant."""

    permission_classes = [MspPermission]
    read_permission = "drift.view_driftfinding"

    @extend_schema(
        parameters=[
            OpenApiParameter("severity", str, enum=[s for s, _ in filtersets.SEVERITY_CHOICES]),
            OpenApiParameter("status", str, enum=[c for c, _ in DriftFinding.Status.choices]),
            OpenApiParameter("resource_type", str),
            OpenApiParameter("tenant", str, description="a tenant slug"),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
        ],
        responses=drift_serializers.FleetFindingSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        params = _FleetSearchParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.fleet_findings(user=request.user, **params.validated_data)
        return Response(drift_serializers.FleetFindingSerializer(rows, many=True).data)


class _FleetSearchParams(serializers.Serializer):
    severity = serializers.ChoiceField(choices=filtersets.SEVERITY_CHOICES, required=False)
    status = serializers.ChoiceField(choices=DriftFinding.Status.choices, required=False)
    resource_type = serializers.CharField(max_length=200, required=False)
    tenant = serializers.SlugField(max_length=50, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=100)
