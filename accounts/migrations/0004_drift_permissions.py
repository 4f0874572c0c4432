"""Grant the default roles their permissions on drift baselines, reports and findings."""

from django.db import migrations

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


def grant(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, permissions in GRANTS.items():
        role = Role.objects.filter(name=name).first()
        if role is not None:
            role.permissions = sorted(set(role.permissions) | set(permissions))
            role.save(update_fields=["permissions"])


def revoke(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, permissions in GRANTS.items():
        role = Role.objects.filter(name=name).first()
        if role is not None:
            role.permissions = [p for p in role.permissions if p not in permissions]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_collection_permissions"), ("drift", "0001_initial")]

    operations = [migrations.RunPython(grant, revoke)]
