"""Onboarding: one service, all or nothing, fast clone, schedule from settings."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_tenants.utils import schema_exists

from tenants import schemas, services
from tenants.models import Domain, Tenant
from tenants.selectors import current_settings, public_tenant
from tests.factories import new_azure_tenant_id

pytestmark = pytest.mark.django_db


def onboard(slug: str = "fabrikam", **kwargs):
    return services.onboard_tenant(
        name=kwargs.pop("name", slug.title()),
        slug=slug,
        azure_tenant_id=kwargs.pop("azure_tenant_id", new_azure_tenant_id()),
        actor="pytest",
        **kwargs,
    )


def test_onboarding_creates_schema_settings_domain_and_schedule():
    services.update_settings(
        public_tenant(), actor="pytest", polling_settings={"enabled": True, "interval_minutes": 7}
    )

    tenant = onboard("fabrikam")

    assert schema_exists("fabrikam")
    assert Domain.objects.get(tenant=tenant).domain.startswith("fabrikam.")
    version = current_settings(tenant)
    assert version.polling_settings["interval_minutes"] == 7, (
        "starts from the MSP's current defaults"
    )
    task = PeriodicTask.objects.get(name="poll-tenant:fabrikam")
    assert task.task == "configurations.tasks.poll_tenant"
    assert task.queue == "poll"
    assert json.loads(task.headers) == {"_schema_name": "fabrikam"}
    assert (task.interval.every, task.interval.period) == (7, IntervalSchedule.MINUTES)
    assert task.enabled


def test_cloned_schema_has_tenant_tables_and_is_up_to_date():
    tenant = onboard("northwind")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [tenant.schema_name],
        )
        tables = {row[0] for row in cursor.fetchall()}
    assert "auditlog_signinglog" in tables
    assert "tenants_tenant" not in tables, "shared tables stay in public"
    assert schemas.schemas_needing_migration([tenant.schema_name]) == []


def test_editing_polling_settings_updates_the_periodic_task():
    tenant = onboard("tailspin")

    services.update_settings(
        tenant, actor="pytest", polling_settings={"enabled": False, "interval_minutes": 60}
    )

    task = PeriodicTask.objects.get(name="poll-tenant:tailspin")
    assert task.interval.every == 60
    assert not task.enabled
    assert tenant.settings_versions.count() == 2, "older version kept as history"


def test_deactivating_a_tenant_pauses_its_schedule():
    tenant = onboard("litware")
    services.set_tenant_active(tenant, active=False)
    assert not PeriodicTask.objects.get(name="poll-tenant:litware").enabled


@pytest.mark.parametrize(
    ("slug", "azure_id", "field"),
    [
        ("public", None, "slug"),
        ("pg-catalog", None, "slug"),
        ("information-schema", None, "slug"),
        ("tenant-template", None, "slug"),
        ("Bad_Slug", None, "slug"),
        ("a", None, "slug"),
        ("ends-with-", None, "slug"),
        ("good-slug", "not-a-guid", "azure_tenant_id"),
        ("good-slug", "", "azure_tenant_id"),
    ],
)
def test_invalid_input_is_a_field_error(slug, azure_id, field):
    with pytest.raises(ValidationError) as excinfo:
        onboard(slug, azure_tenant_id=azure_id if azure_id is not None else new_azure_tenant_id())
    assert field in excinfo.value.message_dict
    assert not Tenant.objects.filter(slug=slug).exists()


def test_duplicate_slug_and_azure_tenant_id_are_refused():
    first = onboard("adatum")
    with pytest.raises(ValidationError) as dup_slug:
        onboard("adatum")
    assert "already exists" in dup_slug.value.message_dict["slug"][0]
    with pytest.raises(ValidationError) as dup_tid:
        onboard("adatum-two", azure_tenant_id=first.azure_tenant_id.upper())
    assert "already onboarded" in dup_tid.value.message_dict["azure_tenant_id"][0]


def test_a_failure_late_in_onboarding_leaves_no_tenant_and_no_schema(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("beat database unavailable")

    monkeypatch.setattr(services, "sync_polling_task", explode)
    with pytest.raises(RuntimeError):
        onboard("half-made")

    assert not Tenant.objects.filter(slug="half-made").exists()
    assert not schema_exists("half_made")
    assert not Domain.objects.filter(domain__startswith="half-made.").exists()


def test_invalid_settings_overrides_are_refused_before_anything_is_created():
    with pytest.raises(ValidationError) as excinfo:
        onboard("bad-settings", settings_overrides={"polling_settings": {"enabled": "yes"}})
    assert "polling_settings" in excinfo.value.message_dict
    assert not schema_exists("bad_settings")


def test_create_tenant_command_onboards_and_reports(capsys):
    call_command(
        "create_tenant", name="Woodgrove", slug="woodgrove", azure_tenant_id=new_azure_tenant_id()
    )
    assert "Onboarded Woodgrove" in capsys.readouterr().out
    assert PeriodicTask.objects.filter(name="poll-tenant:woodgrove").exists()


def test_create_tenant_command_names_each_bad_field():
    with pytest.raises(CommandError) as excinfo:
        call_command("create_tenant", name="X", slug="pg-evil", azure_tenant_id="123")
    message = str(excinfo.value)
    assert "slug:" in message and "azure_tenant_id:" in message


def test_migrate_schemas_skips_schemas_already_up_to_date(capsys):
    onboard("proseware")
    call_command("migrate_schemas", verbosity=1)
    out = capsys.readouterr().out
    assert " behind" in out
    assert "0 behind" in out


def _catalog(schema: str) -> dict[str, set]:
    """Tables, columns, constraints (name + definition) and indexes of a schema, schema-neutral."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path TO {connection.ops.quote_name(schema)}, public")
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, is_identity "
            "FROM information_schema.columns WHERE table_schema = %s",
            [schema],
        )
        columns = set(cursor.fetchall())
        cursor.execute(
            "SELECT cl.relname, co.conname, pg_get_constraintdef(co.oid) FROM pg_constraint co "
            "JOIN pg_class cl ON cl.oid = co.conrelid "
            "JOIN pg_namespace n ON n.oid = cl.relnamespace "
            "WHERE n.nspname = %s",
            [schema],
        )
        constraints = set(cursor.fetchall())
        # Structure, not text: PostgreSQL may deparse an equivalent partial-index predicate
        # differently once it has been re-parsed.
        cursor.execute(
            "SELECT ic.relname, t.relname, i.indisunique, i.indisprimary, i.indpred IS NOT NULL, "
            "array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
            "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE n.nspname = %s GROUP BY 1, 2, 3, 4, 5",
            [schema],
        )
        indexes = {(*row[:5], tuple(row[5])) for row in cursor.fetchall()}
    connection.set_schema_to_public()
    return {"columns": columns, "constraints": constraints, "indexes": indexes}


def test_clone_reproduces_the_template_catalog_with_the_same_names():
    tenant = onboard("catalog-check")
    template = _catalog(schemas.template_schema_name())
    clone = _catalog(tenant.schema_name)
    assert template["columns"] and template["indexes"]
    assert clone == template


def test_cloned_tables_accept_rows_with_fresh_identities(in_tenant):
    from auditlog.services import record_platform_event

    tenant = onboard("identity-check")
    in_tenant(tenant)
    first = record_platform_event(actor="a", action="x")
    second = record_platform_event(actor="a", action="y")
    assert second.pk == first.pk + 1


def test_migrate_schemas_migrates_a_schema_that_is_behind(capsys):
    tenant = onboard("behind")
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA behind CASCADE")
        cursor.execute("CREATE SCHEMA behind")
    assert schemas.schemas_needing_migration(["behind"]) == ["behind"]

    call_command("migrate_schemas", verbosity=1)

    assert "1 behind" in capsys.readouterr().out
    assert schemas.schemas_needing_migration([tenant.schema_name]) == []


def test_onboarding_with_a_credential_queues_a_first_poll_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    from driftdetector.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, *args, **kw: sent.append((name, kw)))
    credential = services.save_azure_credential(
        name="first-poll", client_id=new_azure_tenant_id(), client_secret="x"
    )
    with django_capture_on_commit_callbacks(execute=True):
        onboard("first-poll", azure_credential=credential)
        assert sent == [], "nothing is sent before commit"
    polls = [entry for entry in sent if entry[0] == "configurations.tasks.poll_tenant"]
    assert polls == [
        (
            "configurations.tasks.poll_tenant",
            {
                "kwargs": {"trigger": "onboarding"},
                "headers": {"_schema_name": "first_poll"},
                "queue": "poll",
            },
        )
    ]


def test_onboarding_without_a_credential_queues_no_poll(
    monkeypatch, django_capture_on_commit_callbacks
):
    from driftdetector.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, *args, **kw: sent.append(name))
    with django_capture_on_commit_callbacks(execute=True):
        onboard("no-credential")
    assert "configurations.tasks.poll_tenant" not in sent
    assert "auditlog.tasks.record_platform_event" in sent
