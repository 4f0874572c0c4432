from django.apps import AppConfig


class MspNotificationsConfig(AppConfig):
    name = "notifications.msp"
    # The label keeps the tables, migrations and permission names of the MSP-wide models.
    label = "msp_notifications"
    verbose_name = "MSP notifications"
