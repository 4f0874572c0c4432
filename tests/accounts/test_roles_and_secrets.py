"""Roles grant permissions through the auth backend; OAuth tokens are encrypted at rest."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import crypto
from accounts.models import Role, User
from tests.factories import UserFactory, new_azure_tenant_id

pytestmark = pytest.mark.django_db


def test_default_roles_are_seeded():
    assert set(Role.objects.values_list("name", flat=True)) >= {
        "MSP Admin",
        "MSP Engineer",
        "MSP Viewer",
        "Customer Viewer",
    }


@pytest.mark.parametrize(
    ("role", "perm", "granted"),
    [
        ("MSP Admin", "tenants.add_tenant", True),
        ("MSP Admin", "accounts.change_role", True),
        ("MSP Engineer", "tenants.add_tenant", False),
        ("MSP Engineer", "tenants.add_settings", True),
        ("MSP Viewer", "tenants.view_tenant", True),
        ("MSP Viewer", "tenants.change_settings", False),
        ("Customer Viewer", "tenants.view_settings", True),
        ("Customer Viewer", "tenants.view_tenant", False),
    ],
)
def test_role_permissions_are_honoured_by_has_perm(tenant_a, role, perm, granted):
    tenant = tenant_a if role.startswith("Customer") else None
    user = UserFactory(role_name=role, **({"tenant": tenant} if tenant else {}))
    user = User.objects.get(pk=user.pk)
    assert user.has_perm(perm) is granted


def test_every_seeded_permission_name_exists():
    from accounts.services import unknown_permission_names

    for role in Role.objects.all():
        assert unknown_permission_names(role.permissions) == [], role.name


def test_role_validation_refuses_unknown_permission_names():
    role = Role(name="Typo", permissions=["tenants.view_tenant", "drift.fly_away"])
    with pytest.raises(ValidationError) as excinfo:
        role.full_clean()
    assert "drift.fly_away" in str(excinfo.value)


def test_customer_users_cannot_be_staff_or_hold_msp_roles(tenant_a):
    user = User(
        tenant=tenant_a, username="cust", role=Role.objects.get(name="MSP Admin"), is_staff=True
    )
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    assert {"is_staff", "role"} <= set(excinfo.value.message_dict)


def test_oauth_tokens_are_encrypted_in_the_database():
    user = UserFactory()
    user.access_token = "eyJ-secret-access-token"
    user.refresh_token = "secret-refresh-token"
    user.save()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_user WHERE id = %s", [user.pk]
        )
        raw_access, raw_refresh = cursor.fetchone()
    assert "secret" not in raw_access and "secret" not in raw_refresh
    reloaded = User.objects.get(pk=user.pk)
    assert reloaded.access_token == "eyJ-secret-access-token"
    assert reloaded.refresh_token == "secret-refresh-token"


def test_key_rotation_keeps_old_values_readable_and_reencrypts(settings):
    old_token = crypto.encrypt("payload")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    assert crypto.decrypt(old_token) == "payload"
    rotated = crypto.rotate(old_token)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(rotated) == "payload"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old_token)


def test_tokens_never_appear_in_the_user_admin(client_for, msp_admin):
    user = UserFactory()
    user.access_token = "never-show-this-token"
    user.save()
    client = client_for(msp_admin)
    for url in ("/admin/accounts/user/", f"/admin/accounts/user/{user.pk}/change/"):
        body = client.get(url).content.decode()
        assert "never-show-this-token" not in body
        assert "access_token" not in body


def test_role_admin_offers_permissions_as_checkboxes(client_for, msp_admin):
    role = Role.objects.get(name="MSP Viewer")
    body = client_for(msp_admin).get(f"/admin/accounts/role/{role.pk}/change/").content.decode()
    assert 'type="checkbox"' in body
    assert 'value="tenants.view_tenant"' in body


def test_rotate_encryption_keys_reencrypts_every_stored_secret(settings):
    from django.core.management import call_command

    from tenants.services import save_azure_credential

    user = UserFactory()
    user.refresh_token = "refresh-me"
    user.save()
    credential = save_azure_credential(
        name="rotating", client_id=new_azure_tenant_id(), client_secret="s3"
    )
    totp_secret = generate_totp_secret()
    authenticator = TOTP.activate(user, totp_secret).instance
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert User.objects.get(pk=user.pk).refresh_token == "refresh-me"
    credential.refresh_from_db()
    assert credential.client_secret == "s3"
    authenticator.refresh_from_db()
    assert crypto.decrypt(authenticator.data["secret"]) == totp_secret
