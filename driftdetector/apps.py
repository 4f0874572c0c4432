"""The admin app configured with the project's AdminSite (fleet page, MSP-only access)."""

from django.contrib.admin.apps import AdminConfig


class DriftAdminConfig(AdminConfig):
    default_site = "driftdetector.admin_site.DriftAdminSite"

    def ready(self) -> None:
        """Also start every business series at zero, so rates and alerts see them at once."""
        super().ready()
        from configurations.models import PollRun
        from drift.choices import SEVERITIES
        from driftdetector import metrics
        from notifications.choices import ChannelKind, DeliveryStatus

        metrics.initialise(
            pass_statuses=[s for s in PollRun.Status.values if s != PollRun.Status.RUNNING],
            severities=SEVERITIES,
            channel_kinds=ChannelKind.values,
            delivery_statuses=[DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.DEAD],
        )
