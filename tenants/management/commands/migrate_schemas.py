"""``migrate_schemas`` that skips tenant schemas already at the latest migration.

django-tenants runs ``migrate`` once per schema even when nothing is pending, which
costs most of a second per tenant (upstream #719: 900 tenants, 12 minutes). This
command reads every schema's ``django_migrations`` in one query, migrates only the
schemas that are behind (with the chosen executor), and keeps the template schema that
new tenants are cloned from migrated too.
"""

from __future__ import annotations

from typing import Any

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_tenant_model, schema_exists

from tenants import schemas


class Command(MigrateSchemasCommand):
    help = "Migrate the public schema, the tenant template and every tenant schema that is behind."

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_wide = options.get("tenant") or not options.get("shared")
        if (
            options.get("schema_name")
            or options.get("fake")
            or not tenant_wide
            or options.get("app_label")
        ):
            super().handle(*args, **options)
            return
        # Public schema first (and only it) through the stock command.
        super().handle(*args, **{**options, "shared": True, "tenant": False})
        template = schemas.template_schema_name()
        candidates = list(
            get_tenant_model()
            .objects.exclude(schema_name="public")
            .values_list("schema_name", flat=True)
        )
        if schema_exists(template):
            candidates.insert(0, template)
        else:
            schemas.ensure_template_schema(verbosity=int(options.get("verbosity", 1)))
        behind = schemas.schemas_needing_migration(candidates)
        verbosity = int(options.get("verbosity", 1))
        if verbosity:
            self.stdout.write(
                f"Tenant schemas: {len(candidates)} checked, {len(behind)} behind, "
                f"{len(candidates) - len(behind)} already up to date."
            )
        if behind:
            executor = get_executor(codename=self.executor)(self.args, self.options)
            executor.run_migrations(tenants=behind)
