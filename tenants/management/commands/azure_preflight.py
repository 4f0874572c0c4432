"""``manage.py azure_preflight --tenant <slug> [--json]``: can we read this customer's Azure?

Prints one line per check (token, subscriptions, each Resource Graph table, Activity Log,
Graph audit logs) with what to grant when something is missing. Exit code 0 when every
check passed, 1 with warnings only, 2 when a check failed, 3 when the tenant cannot be
checked at all (unknown slug, no credential).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Tenant
from tenants.preflight import PreflightConfigError, azure_preflight

MARKS = {"ok": "OK", "warning": "WARN", "failed": "FAIL", "skipped": "SKIP"}


class Command(BaseCommand):
    help = (
        "Check a tenant's Azure access (token, subscriptions, Resource Graph, Activity Log, Graph)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = (
            Tenant.objects.select_related("azure_credential").filter(slug=options["tenant"]).first()
        )
        if tenant is None:
            raise CommandError(f"no tenant with slug '{options['tenant']}'", returncode=3)
        try:
            report = azure_preflight(tenant=tenant)
        except PreflightConfigError as exc:
            raise CommandError(str(exc), returncode=3) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"tenant": tenant.slug, **report.as_dict()}, indent=2))
        else:
            width = max(len(check.name) for check in report.checks)
            self.stdout.write(f"Azure preflight of {tenant.slug} ({report.tenant_id})")
            for check in report.checks:
                self.stdout.write(
                    f"  {MARKS[check.status]:<4}  {check.name:<{width}}  {check.detail}"
                )
                if check.fix:
                    self.stdout.write(f"        {'':<{width}}  -> {check.fix}")
            self.stdout.write(report.summary)
            if report.exit_code == 2:
                self.stdout.write(f"admin consent URL: {report.consent_url}")
        if report.exit_code:
            raise SystemExit(report.exit_code)
