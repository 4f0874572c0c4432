"""Onboard a customer tenant from the command line (the same service as the admin and API)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.services import onboard_tenant, polling_task_name


class Command(BaseCommand):
    help = "Onboard a customer tenant: validate, clone its schema, settings, polling schedule."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="Customer name")
        parser.add_argument("--slug", required=True, help="URL and schema name, e.g. contoso")
        parser.add_argument("--azure-tenant-id", required=True, help="Entra ID tenant GUID")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = onboard_tenant(
                name=options["name"],
                slug=options["slug"],
                azure_tenant_id=options["azure_tenant_id"],
                actor="manage.py create_tenant",
            )
        except ValidationError as exc:
            lines = [f"{field}: {msg}" for field, msgs in exc.message_dict.items() for msg in msgs]
            raise CommandError("tenant not created:\n  " + "\n  ".join(lines)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Onboarded {tenant.name}: schema {tenant.schema_name}, URL /t/{tenant.slug}/, "
                f"schedule '{polling_task_name(tenant)}'."
            )
        )
