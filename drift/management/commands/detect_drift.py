"""Run a drift detection pass now; exit 0 (no open drift), 1 (open drift) or 2 (error).

Like the detection task, it publishes ``detection_finished``, so a manual pass notifies,
and holds the tenant's detection lock: it waits for a running pass of the tenant (at most
``DRIFT_TASK_TIME_LIMIT`` seconds, as long as a pass may run) instead of overlapping it."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from drift.locks import DetectionAlreadyRunning
from drift.selectors import unresolved_findings_most_severe_first
from drift.services import run_exclusive_detection
from drift.severity import RuleSetError
from driftdetector.pipeline import publish
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Detect drift for one tenant now; the exit code says whether drift is open (CI-style)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
        if tenant is None or tenant.is_public:
            self.stderr.write(f"no active customer tenant '{options['tenant']}'")
            sys.exit(2)
        try:
            with tenant_context(tenant):
                report = run_exclusive_detection(
                    tenant, actor="manage.py detect_drift", wait=settings.DRIFT_TASK_TIME_LIMIT
                )
                publish("detection_finished", schema_name=tenant.schema_name, report_id=report.pk)
                findings = list(unresolved_findings_most_severe_first())
        except RuleSetError as exc:
            self.stderr.write(f"invalid drift_thresholds: {exc}")
            sys.exit(2)
        except DetectionAlreadyRunning as exc:
            self.stderr.write(f"{tenant.slug}: {exc}")
            sys.exit(2)
        rows = [
            {
                "tenant": tenant.slug,
                "severity": f.severity,
                "status": f.status,
                "kind": f.kind,
                "resource_id": f.resource_id,
                "path": f.path,
                "baseline_value": f.baseline_value,
                "current_value": f.current_value,
                "rule": f.matched_rule,
                "changed_by": f.changed_by,
            }
            for f in findings
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"report": report.pk, "open_findings": rows}, default=str))
        else:
            for row in rows:
                self.stdout.write(
                    f"{row['severity']:<8} {row['kind']:<8} {row['resource_id']} {row['path']} "
                    f"({row['baseline_value']!r} -> {row['current_value']!r}) [{row['rule']}]"
                )
            self.stdout.write(f"{len(rows)} open finding(s) in {tenant.slug}")
        sys.exit(1 if rows else 0)
