"""Grant the default roles their permissions on collected configuration and credentials."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

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


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_default_roles"),
        ("configurations", "0001_initial"),
        ("tenants", "0003_azurecredential_tenant_azure_credential_tenantstatus"),
    ]

    operations = [grants_operation(GRANTS)]
