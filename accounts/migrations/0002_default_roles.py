"""Seed the default roles. Later apps' migrations add their own models' permissions."""

from django.db import migrations

CRUD = ("add", "change", "delete", "view")
FOUNDATION_MODELS = {
    "tenants": ["tenant", "domain", "settings"],
    "accounts": ["user", "role"],
    "django_celery_beat": [
        "periodictask",
        "intervalschedule",
        "crontabschedule",
        "solarschedule",
        "clockedschedule",
    ],
}


def _perms(actions, models=FOUNDATION_MODELS):
    return [
        f"{app}.{action}_{model}"
        for app, names in models.items()
        for model in names
        for action in actions
    ]


ROLES = [
    {
        "name": "MSP Admin",
        "scope": "msp",
        "description": "Runs the platform: onboards tenants, manages users, roles and schedules.",
        "permissions": [*_perms(CRUD), "tenants.enter_any_tenant"],
    },
    {
        "name": "MSP Engineer",
        "scope": "msp",
        "description": "Works on customer tenants: views everything, changes tenant settings and schedules.",
        "permissions": [
            *_perms(("view",)),
            "tenants.change_settings",
            "tenants.add_settings",
            "django_celery_beat.change_periodictask",
            "tenants.enter_any_tenant",
        ],
    },
    {
        "name": "MSP Viewer",
        "scope": "msp",
        "description": "Read-only across every customer tenant.",
        "permissions": [*_perms(("view",)), "tenants.enter_any_tenant"],
    },
    {
        "name": "Customer Viewer",
        "scope": "customer",
        "description": "Read-only inside the customer's own tenant.",
        "permissions": ["tenants.view_settings"],
    },
]


def seed_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in ROLES:
        Role.objects.update_or_create(name=role["name"], defaults=role)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
