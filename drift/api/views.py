"""Tenant API for drift: findings (JSON list) and CSV/JSON exports of open findings and reports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.api.permissions import TenantAccess
from drift import selectors
from drift.choices import rank_expression
from drift.models import DriftFinding, DriftReport
from drift.services import UNRESOLVED

EXPORT_FIELDS = [
    "tenant",
    "id",
    "severity",
    "status",
    "kind",
    "resource_type",
    "resource_id",
    "path",
    "baseline_value",
    "current_value",
    "matched_rule",
    "changed_by",
    "flapping",
    "first_seen",
    "last_seen",
]


class FindingSerializer(serializers.ModelSerializer):
    tenant = serializers.SerializerMethodField()
    rule = serializers.SerializerMethodField()

    class Meta:
        model = DriftFinding
        fields = [f for f in EXPORT_FIELDS if f != "tenant"] + [
            "tenant",
            "resolved_at",
            "exception",
            "rule",
        ]

    def get_tenant(self, obj: DriftFinding) -> dict[str, Any]:
        tenant = self.context["request"].tenant
        return {"id": tenant.pk, "slug": tenant.slug}

    def get_rule(self, obj: DriftFinding) -> dict[str, str]:
        """The rule that rated the finding, with its rationale and reference."""
        if "rule_index" not in self.context:  # once per response, not per finding
            self.context["rule_index"] = selectors.rule_index(self.context["request"].tenant)
        return selectors.rule_details(obj, self.context["rule_index"])


class FindingList(generics.ListAPIView):
    """Findings, newest first (``?order=severity``: most severe first); ``?status=``,
    ``?severity=``, ``?kind=`` and ``?flapping=true`` filter."""

    serializer_class = FindingSerializer
    permission_classes = [TenantAccess]
    read_permission = "drift.view_driftfinding"

    def get_queryset(self):
        queryset = DriftFinding.objects.order_by("-last_seen")
        if self.request.query_params.get("order") == "severity":
            queryset = queryset.order_by(rank_expression().desc(), "-last_seen")
        for param in ("status", "severity", "kind"):
            if self.request.query_params.get(param):
                queryset = queryset.filter(**{param: self.request.query_params[param]})
        flapping = self.request.query_params.get("flapping")
        if flapping:
            queryset = queryset.filter(flapping=flapping.lower() in ("1", "true", "yes"))
        return queryset


def _export(
    findings: list[DriftFinding], tenant: Any, fmt: str, name: str, extra: dict | None = None
) -> HttpResponse:
    rows = [
        {
            **{field: getattr(f, field) for field in EXPORT_FIELDS if field != "tenant"},
            "tenant": tenant.slug,
        }
        for f in findings
    ]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                    for k, v in row.items()
                }
            )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        body = {**(extra or {}), "tenant": {"id": tenant.pk, "slug": tenant.slug}, "findings": rows}
        response = HttpResponse(
            json.dumps(body, default=str, ensure_ascii=False), content_type="application/json"
        )
    response["Content-Disposition"] = f'attachment; filename="{tenant.slug}-{name}.{fmt}"'
    return response


class OpenFindingsExport(APIView):
    """``?as=csv`` (default) or ``?as=json``: every open or acknowledged finding."""

    permission_classes = [TenantAccess]
    read_permission = "drift.view_driftfinding"

    def get(self, request: Request) -> HttpResponse:
        fmt = "json" if request.query_params.get("as") == "json" else "csv"
        findings = list(
            DriftFinding.objects.filter(status__in=UNRESOLVED).order_by(
                rank_expression().desc(), "resource_id"
            )
        )
        return _export(findings, request.tenant, fmt, "open-findings")


class ReportExport(APIView):
    """One DriftReport with the findings it touched, as CSV or JSON (``?as=json``)."""

    permission_classes = [TenantAccess]
    read_permission = "drift.view_driftreport"

    def get(self, request: Request, pk: int) -> HttpResponse:
        report = get_object_or_404(DriftReport, pk=pk)
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
        return _export(
            list(report.findings.order_by(rank_expression().desc(), "resource_id")),
            request.tenant,
            fmt,
            f"drift-report-{report.pk}",
            summary,
        )
