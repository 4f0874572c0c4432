"""Run a collection pass in the foreground, with progress and a summary."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from configurations.locks import PassAlreadyRunning
from configurations.models import PollRun
from configurations.services import PassOptions, run_collection_pass
from driftdetector.pipeline import publish
from tenants.models import Tenant
from tenants.selectors import customer_tenants


class Command(BaseCommand):
    help = "Collect the Azure configuration of one tenant (or --all active tenants) now."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug", nargs="?", help="tenant slug")
        parser.add_argument("--all", action="store_true", help="poll every active tenant")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["slug"]):
            raise CommandError("give a tenant slug or --all")
        tenants = (
            list(customer_tenants().filter(is_active=True).select_related("azure_credential"))
            if options["all"]
            else list(
                Tenant.objects.filter(slug=options["slug"]).select_related("azure_credential")
            )
        )
        if not tenants:
            raise CommandError(f"no tenant '{options['slug']}'")
        failures = 0
        for tenant in tenants:
            with tenant_context(tenant):
                try:
                    run = run_collection_pass(
                        tenant,
                        PassOptions(
                            trigger="manage.py poll_tenant",
                            progress=None if options["quiet"] else self._progress(tenant),
                        ),
                    )
                except PassAlreadyRunning as exc:
                    self.stderr.write(f"{tenant.slug}: skipped, {exc}")
                    failures += 1
                    continue
                try:
                    publish(
                        "collection_finished",
                        schema_name=tenant.schema_name,
                        poll_run_id=run.pk,
                        status=run.status,
                    )
                except Exception as exc:  # the pass is stored; say what is missing
                    self.stderr.write(f"{tenant.slug}: detection not queued ({exc})")
            if not options["quiet"]:
                sys.stderr.write("\n")
            self.stdout.write(self._summary(tenant, run))
            failures += run.status != PollRun.Status.SUCCEEDED
        if failures:
            raise CommandError(f"{failures} of {len(tenants)} pass(es) did not succeed")

    def _progress(self, tenant: Tenant):
        def show(run: PollRun, total: int) -> None:
            width = 30
            filled = min(width, width * run.seen // total) if total else width
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(
                f"\r{tenant.slug} [{bar}] page {run.pages}, {run.seen}/{total} resources, "
                f"{run.created} new, {run.updated} changed"
            )
            sys.stderr.flush()

        return show

    @staticmethod
    def _summary(tenant: Tenant, run: PollRun) -> str:
        line = (
            f"{tenant.slug}: {run.status} in {run.duration_seconds:.1f}s - seen {run.seen}, "
            f"created {run.created}, updated {run.updated}, restored {run.restored}, "
            f"deleted {run.deleted}, unchanged {run.unchanged}; {run.pages} pages, "
            f"{run.azure_calls} Azure calls, {run.throttle_waits} throttle waits"
        )
        return f"{line}\n  error: {run.error}" if run.error else line
