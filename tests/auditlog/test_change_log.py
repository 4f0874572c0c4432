"""The platform change log: who changed what, through which door, never the secret."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from auditlog.context import acting_as
from auditlog.models import SigningLog
from drift.models import DriftFinding
from tenants.models import AzureCredential
from tenants.services import save_azure_credential, update_settings
from tests.notifications.helpers import channel, make_report_with

pytestmark = pytest.mark.django_db

SECRET = "very-secret-client-secret-value"


def _changes(schema: str, **filters):
    with schema_context(schema):
        return list(SigningLog.objects.filter(source="platform", **filters).order_by("id"))


def test_an_api_change_records_actor_ip_request_id_and_the_changed_fields(
    tenant_a, msp_admin, client_for
):
    with tenant_context(tenant_a):
        hook = channel("email", name="ops", addresses=["ops@example.com"])
    client = client_for(msp_admin)
    response = client.patch(
        f"/t/{tenant_a.slug}/api/v1/notifications/channels/{hook.pk}/",
        data=json.dumps({"addresses": ["oncall@example.com"], "enabled": False}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-audit-1",
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 200, response.content
    [row] = _changes(tenant_a.schema_name, action="channel.updated")
    assert row.actor == msp_admin.username and str(row.client_ip) == "198.51.100.7"
    assert row.resource == f"channel:{hook.pk}"
    data = row.log_data
    assert data["via"] == "api" and data["request_id"] == "req-audit-1"
    assert data["changes"]["enabled"] == {"before": True, "after": False}
    assert data["changes"]["addresses"]["after"] == ["oncall@example.com"]
    assert "name" not in data["changes"] and "kind" not in data["changes"], "only what changed"


def test_a_credential_change_by_a_command_never_records_the_secret(tenant_a):
    with acting_as("ops (manage.py create_credential)"):
        credential = save_azure_credential(
            name="audit-test-app",
            client_id="11111111-2222-3333-4444-555555555555",
            client_secret=SECRET,
        )
    [row] = _changes("public", action="credential.created", resource=f"credential:{credential.pk}")
    assert row.actor == "ops (manage.py create_credential)" and row.log_data["via"] == "command"
    assert SECRET not in json.dumps(row.log_data)
    assert row.log_data["changes"]["client_secret"]["after"] != SECRET
    assert row.log_data["changes"]["client_id"]["after"].startswith("11111111")
    assert AzureCredential.objects.get(pk=credential.pk).client_secret == SECRET


def test_a_settings_change_is_recorded_in_that_tenants_schema_with_before_and_after(
    tenant_a, tenant_b
):
    with tenant_context(tenant_a):
        before = len(_changes(tenant_b.schema_name))
    with acting_as("alice", via="web"):
        update_settings(
            tenant_b,
            actor="alice",
            polling_settings={"enabled": True, "interval_minutes": 17},
        )
    [row] = _changes(tenant_b.schema_name, action="settings.created")
    change = row.log_data["changes"]["polling_settings"]
    assert change["after"]["interval_minutes"] == 17
    assert change["before"]["interval_minutes"] != 17
    assert "drift_thresholds" not in row.log_data["changes"]
    assert len(_changes(tenant_b.schema_name)) == before + 1
    assert not _changes(tenant_a.schema_name, action="settings.created")


def test_finding_status_changes_write_one_row_per_finding(tenant_a):
    from drift.services import set_findings_status

    with tenant_context(tenant_a):
        _, findings = make_report_with([{}, {}])
        set_findings_status(
            [f.pk for f in findings], DriftFinding.Status.ACKNOWLEDGED, actor="carol"
        )
        rows = _changes(connection.schema_name, action="finding.acknowledged")
    assert sorted(r.resource for r in rows) == sorted(f"finding:{f.pk}" for f in findings)
    assert all(r.actor == "carol" for r in rows)
    assert rows[0].log_data["changes"]["status"] == {"before": "open", "after": "acknowledged"}


def test_writes_the_platform_makes_by_itself_are_not_recorded(tenant_a):
    with tenant_context(tenant_a):
        channel("email", name="system-made", addresses=["x@example.com"])
        assert not _changes(tenant_a.schema_name, action="channel.created")


def test_a_migrations_historical_model_is_never_recorded(tenant_b):
    """Data migrations save historical models (tenants/0002 creates the MSP's Settings)
    while manage.py names a person; on a fresh database the audit table does not exist
    yet, so recording them broke `migrate`. Only real models are recorded."""
    from django.db.migrations.loader import MigrationLoader

    historical = MigrationLoader(connection).project_state().apps.get_model("tenants", "Settings")
    before = len(_changes("public"))
    with acting_as("ops (manage.py migrate)"):
        historical.objects.create(tenant_id=tenant_b.pk, changed_by="migration")
    assert len(_changes("public")) == before
    with schema_context(tenant_b.schema_name):
        assert not SigningLog.objects.filter(action__startswith="settings.").exists()
