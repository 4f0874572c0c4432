"""The template's DDL is read from the catalog once per migration state, not per onboarding
(the catalog scans grow with every tenant schema)."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants import schemas, services
from tests.factories import new_azure_tenant_id

pytestmark = pytest.mark.django_db


def _onboard(slug: str):
    return services.onboard_tenant(
        name=slug.title(), slug=slug, azure_tenant_id=new_azure_tenant_id(), actor="pytest"
    )


@pytest.fixture
def catalog_reads(monkeypatch):
    """Count the catalog reads of the template's DDL (starting from an empty cache)."""
    reads = []
    real = schemas._template_ddl

    def counted(template: str) -> list[str]:
        reads.append(template)
        return real(template)

    monkeypatch.setattr(schemas, "_template_ddl", counted)
    monkeypatch.setattr(schemas, "_ddl_cache", {})
    return reads


def test_second_onboarding_reuses_the_templates_ddl(catalog_reads):
    first, second = _onboard("cache-one"), _onboard("cache-two")
    assert catalog_reads == [schemas.template_schema_name()]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables "
            "WHERE table_schema IN (%s, %s) GROUP BY 1",
            [first.schema_name, second.schema_name],
        )
        tables = dict(cursor.fetchall())
    assert tables[first.schema_name] == tables[second.schema_name] > 10


def test_a_migration_of_the_template_is_read_again(catalog_reads):
    template = schemas.template_schema_name()
    _onboard("cache-three")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # what applying one more migration records
        cursor.execute(
            f"INSERT INTO {quote(template)}.django_migrations (app, name, applied) "  # noqa: S608
            "VALUES ('tenants', 'zz_probe', now())"
        )
    tenant = _onboard("cache-four")
    assert catalog_reads == [template, template]
    applied = schemas.applied_migrations([tenant.schema_name])[tenant.schema_name]
    assert ("tenants", "zz_probe") in applied
