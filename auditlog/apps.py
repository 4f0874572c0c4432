from django.apps import AppConfig


class AuditlogConfig(AppConfig):
    name = "auditlog"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from auditlog import changes

        changes.connect()
