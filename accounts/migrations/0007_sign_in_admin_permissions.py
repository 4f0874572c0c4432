"""Let the MSP Admin role look after sign-in: users' email addresses, MFA devices (delete
one when a phone is lost) and Entra ID links."""

from django.db import migrations

from accounts.migrations._role_grants import grants_operation

GRANTS = {
    "MSP Admin": [
        "account.view_emailaddress",
        "account.add_emailaddress",
        "account.change_emailaddress",
        "account.delete_emailaddress",
        "mfa.view_authenticator",
        "mfa.delete_authenticator",
        "social_django.view_usersocialauth",
        "social_django.delete_usersocialauth",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_exception_and_token_permissions"),
        ("account", "0001_initial"),
        ("mfa", "0001_initial"),
        ("social_django", "0001_initial"),
    ]

    operations = [grants_operation(GRANTS)]
