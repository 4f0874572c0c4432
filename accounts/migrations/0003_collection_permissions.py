"""Grant the default roles their permissions on collected configuration and credentials."""

from django.db import migrations

VIEW_COLLECTION = [
    "configurations.view_configuration",
    "configurations.view_configurationhistory",
    "configurations.view_pollrun",
]
CREDENTIALS = [
    f"tenants.{action}_azurecredential" for action in ("add", "change", "delete", "view")
]
STATUS = ["tenants.view_tenantstatus"]

GRANTS = {
    "MSP Admin": VIEW_COLLECTION + CREDENTIALS + STATUS,
    "MSP Engineer": VIEW_COLLECTION + ["tenants.view_azurecredential"] + STATUS,
    "MSP Viewer": VIEW_COLLECTION + STATUS,
    "Customer Viewer": VIEW_COLLECTION,
}


def grant(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, permissions in GRANTS.items():
        role = Role.objects.filter(name=name).first()
        if role is not None:
            role.permissions = sorted(set(role.permissions) | set(permissions))
            role.save(update_fields=["permissions"])


def revoke(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, permissions in GRANTS.items():
        role = Role.objects.filter(name=name).first()
        if role is not None:
            role.permissions = [p for p in role.permissions if p not in permissions]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_default_roles"),
        ("configurations", "0001_initial"),
        ("tenants", "0003_azurecredential_tenant_azure_credential_tenantstatus"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
