from django.apps import AppConfig


class MspNotificationsConfig(AppConfig):
    name = "msp_notifications"
    verbose_name = "MSP notifications"
