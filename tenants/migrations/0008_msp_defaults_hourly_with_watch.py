"""The shipped MSP default polling moves to hourly full passes plus a 30 s change watch.

Only an MSP default still equal to the old shipped one (4-minute passes, no watch key) is
changed, as a new settings version; any value an operator chose is left alone. Customer
tenants keep their own settings (their watch runs at the 30 s default until set).
"""

from django.db import migrations

OLD = {"enabled": True, "interval_minutes": 4, "page_size": 1000}
NEW = {"enabled": True, "interval_minutes": 60, "watch_interval_seconds": 30, "page_size": 1000}


def forwards(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    Settings = apps.get_model("tenants", "Settings")
    msp = Tenant.objects.filter(schema_name="public").first()
    if msp is None:
        return
    current = Settings.objects.filter(tenant=msp).order_by("-last_updated", "-id").first()
    if current is None or current.polling_settings != OLD:
        return
    Settings.objects.create(
        tenant=msp,
        changed_by="migration",
        notification_settings=current.notification_settings,
        polling_settings=NEW,
        drift_thresholds=current.drift_thresholds,
    )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_change_watch")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
