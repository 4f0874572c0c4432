"""Grant every default role read access to its tenants' audit trail (sign-ins, events)."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

VIEW = ["auditlog.view_signinglog"]
GRANTS = {
    "MSP Admin": VIEW,
    "MSP Engineer": VIEW,
    "MSP Viewer": VIEW,
    "Customer Viewer": VIEW,
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_notification_permissions"),
        ("auditlog", "0002_alter_signinglog_actor_alter_signinglog_source_and_more"),
    ]

    operations = [grants_operation(GRANTS)]
