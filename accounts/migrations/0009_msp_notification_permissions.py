"""Grant the default MSP roles their permissions on MSP-wide notification channels and
rules (customers get none: MSP channels are the MSP's own)."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

VIEW = [
    "msp_notifications.view_mspchannel",
    "msp_notifications.view_mspnotificationrule",
]
WORK = [
    "msp_notifications.add_mspchannel",
    "msp_notifications.change_mspchannel",
    "msp_notifications.delete_mspchannel",
    "msp_notifications.add_mspnotificationrule",
    "msp_notifications.change_mspnotificationrule",
    "msp_notifications.delete_mspnotificationrule",
]

GRANTS = {"MSP Admin": VIEW + WORK, "MSP Engineer": VIEW + WORK, "MSP Viewer": VIEW}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_notification_permissions"),
        ("msp_notifications", "0001_initial"),
    ]

    operations = [grants_operation(GRANTS)]
