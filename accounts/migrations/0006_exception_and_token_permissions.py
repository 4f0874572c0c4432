"""Grant the default roles their permissions on drift exceptions and API tokens."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

EXCEPTIONS_VIEW = ["drift.view_driftexception"]
EXCEPTIONS_WORK = ["drift.add_driftexception", "drift.change_driftexception"]
TOKENS = ["accounts.add_apitoken", "accounts.view_apitoken", "accounts.delete_apitoken"]

GRANTS = {
    "MSP Admin": EXCEPTIONS_VIEW + EXCEPTIONS_WORK + TOKENS + ["drift.delete_driftexception"],
    "MSP Engineer": EXCEPTIONS_VIEW + EXCEPTIONS_WORK + TOKENS,
    "MSP Viewer": EXCEPTIONS_VIEW + TOKENS,
}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_api_tokens"), ("drift", "0002_exceptions_flapping")]

    operations = [grants_operation(GRANTS)]
