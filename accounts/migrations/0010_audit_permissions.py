"""Grant every default role read access to its tenants' audit trail (sign-ins, events);
MSP roles also see the Graph collectors and the ELK forwarder, and admins and engineers
may send parked documents again."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

VIEW = ["auditlog.view_signinglog"]
FLEET = [
    "auditlog_fleet.view_auditcollector",
    "auditlog_fleet.view_forwarderstate",
    "auditlog_fleet.view_outboxentry",
]
WORK = ["auditlog_fleet.change_outboxentry"]
GRANTS = {
    "MSP Admin": VIEW + FLEET + WORK,
    "MSP Engineer": VIEW + FLEET + WORK,
    "MSP Viewer": VIEW + FLEET,
    "Customer Viewer": VIEW,
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_msp_notification_permissions"),
        ("auditlog", "0002_alter_signinglog_actor_alter_signinglog_source_and_more"),
        ("auditlog_fleet", "0001_initial"),
    ]

    operations = [grants_operation(GRANTS)]
