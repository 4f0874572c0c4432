"""The MSP's own tenant (schema public), its domain and the MSP default settings."""

import os

from django.db import migrations

DEFAULTS = {
    "polling_settings": {"enabled": True, "interval_minutes": 4, "page_size": 1000},
    "notification_settings": {
        "enabled": True,
        "min_severity": "high",
        "only_new_findings": True,
        "channels": [],
    },
    "drift_thresholds": {
        "use_default_rules": True,
        "rules": [],
        "escalation": {"changes_per_resource": 5, "severity": "high"},
        "flapping": {"changes": 4, "passes": 10},
    },
}


def create_public_tenant(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    Domain = apps.get_model("tenants", "Domain")
    Settings = apps.get_model("tenants", "Settings")
    if Tenant.objects.filter(schema_name="public").exists():
        return
    tenant = Tenant.objects.create(
        schema_name="public",
        name=os.environ.get("MSP_NAME", "MSP"),
        slug="msp",
        azure_tenant_id=os.environ.get(
            "MSP_AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"
        ),
        is_active=True,
    )
    Domain.objects.create(
        tenant=tenant, domain=os.environ.get("MSP_DOMAIN", "localhost"), is_primary=True
    )
    Settings.objects.create(tenant=tenant, changed_by="migration", **DEFAULTS)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(create_public_tenant, migrations.RunPython.noop)]
