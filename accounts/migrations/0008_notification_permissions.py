"""Grant the default roles their permissions on notification channels, rules, deliveries
and snoozes (customers get none: channel URLs are the MSP's secrets)."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

VIEW = [
    "notifications.view_channel",
    "notifications.view_notificationrule",
    "notifications.view_delivery",
    "notifications.view_deliveryattempt",
    "notifications.view_snooze",
]
WORK = [
    "notifications.add_channel",
    "notifications.change_channel",
    "notifications.delete_channel",
    "notifications.add_notificationrule",
    "notifications.change_notificationrule",
    "notifications.delete_notificationrule",
    "notifications.change_delivery",
    "notifications.add_snooze",
    "notifications.change_snooze",
    "notifications.delete_snooze",
]

GRANTS = {"MSP Admin": VIEW + WORK, "MSP Engineer": VIEW + WORK, "MSP Viewer": VIEW}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_sign_in_admin_permissions"),
        ("notifications", "0001_initial"),
    ]

    operations = [grants_operation(GRANTS)]
