"""Grant the default roles their permissions on drift baselines, reports and findings."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

VIEW = [
    "drift.view_baseline",
    "drift.view_baselineentry",
    "drift.view_driftreport",
    "drift.view_driftfinding",
]
WORK = ["drift.change_driftfinding", "drift.add_baseline", "drift.change_baseline"]

GRANTS = {
    "MSP Admin": VIEW + WORK,
    "MSP Engineer": VIEW + WORK,
    "MSP Viewer": VIEW,
    "Customer Viewer": ["drift.view_driftfinding", "drift.view_driftreport"],
}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_collection_permissions"), ("drift", "0001_initial")]

    operations = [grants_operation(GRANTS)]
