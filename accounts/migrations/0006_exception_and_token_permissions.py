"""Grant the default roles their permissions on drift exceptions and API tokens."""

from django.db import migrations

EXCEPTIONS_VIEW = ["drift.view_driftexception"]
EXCEPTIONS_WORK = ["drift.add_driftexception", "drift.change_driftexception"]
TOKENS = ["accounts.add_apitoken", "accounts.view_apitoken", "accounts.delete_apitoken"]

GRANTS = {
    "MSP Admin": EXCEPTIONS_VIEW + EXCEPTIONS_WORK + TOKENS + ["drift.delete_driftexception"],
    "MSP Engineer": EXCEPTIONS_VIEW + EXCEPTIONS_WORK + TOKENS,
    "MSP Viewer": EXCEPTIONS_VIEW + TOKENS,
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
    dependencies = [("accounts", "0005_api_tokens"), ("drift", "0002_exceptions_flapping")]

    operations = [migrations.RunPython(grant, revoke)]
