"""The admin app configured with the project's AdminSite (fleet page, MSP-only access)."""

from django.contrib.admin.apps import AdminConfig


class DriftAdminConfig(AdminConfig):
    default_site = "driftdetector.admin_site.DriftAdminSite"
