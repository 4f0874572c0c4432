from django.apps import AppConfig


class AuditFleetConfig(AppConfig):
    """The audit trail's public-schema tables: collector state, sign-in summary, ELK outbox."""

    name = "auditlog.fleet"
    label = "auditlog_fleet"
    verbose_name = "Audit trail (fleet)"
