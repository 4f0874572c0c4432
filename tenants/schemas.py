"""PostgreSQL schema operations for tenants: the template schema, cloning, migration state.

New tenant schemas are cloned from ``settings.TENANT_BASE_SCHEMA`` (a schema that holds
the tenant apps' tables and migration records but no data) instead of replaying every
migration, and ``migrate_schemas`` skips schemas that already have every migration.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists


def template_schema_name() -> str:
    """Name of the schema new tenants are cloned from."""
    return settings.TENANT_BASE_SCHEMA


def known_migrations() -> set[tuple[str, str]]:
    """Every (app, migration) pair in the project; a migrated tenant schema records them all."""
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return set(loader.graph.nodes)


def applied_migrations(schema_names: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
    """Recorded migrations per schema, in one query; a schema without the table maps to {}."""
    names = list(schema_names)
    if not names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [names],
        )
        with_table = [row[0] for row in cursor.fetchall()]
        result: dict[str, set[tuple[str, str]]] = {name: set() for name in names}
        if not with_table:
            return result
        # Schema names come from information_schema and are quoted as identifiers.
        union = " UNION ALL ".join(
            f"SELECT %s, app, name FROM {connection.ops.quote_name(name)}.django_migrations"  # noqa: S608
            for name in with_table
        )
        cursor.execute(union, with_table)
        for schema, app, name in cursor.fetchall():
            result[schema].add((app, name))
    return result


def schemas_needing_migration(schema_names: Iterable[str]) -> list[str]:
    """The given schemas that lack at least one of the project's migrations, in input order."""
    names = list(schema_names)
    expected = known_migrations()
    applied = applied_migrations(names)
    return [name for name in names if not expected <= applied[name]]


def ensure_template_schema(verbosity: int = 0) -> bool:
    """Create and migrate the template schema if it is missing or behind; True if work was done."""
    name = template_schema_name()
    if schema_exists(name) and not schemas_needing_migration([name]):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {connection.ops.quote_name(name)}")
    call_command(
        "migrate_schemas",
        schema_name=name,
        tenant=True,
        interactive=False,
        verbosity=verbosity,
        skip_checks=True,
    )
    connection.set_schema_to_public()
    return True


def clone_template_into(schema_name: str) -> None:
    """Create ``schema_name`` as a copy of the template schema (tables and migration records).

    Runs inside the caller's transaction, so a failure later in onboarding removes it too.
    """
    if schema_name == get_public_schema_name():
        raise ValueError("the public schema cannot be cloned into")
    CloneSchema().clone_schema(template_schema_name(), schema_name, clone_mode="DATA")
    connection.set_schema_to_public()
