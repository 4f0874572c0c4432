"""Every default role against a matrix of actions, through the real admin and API.

Expected status per (role, action); 'own' actions run in tenant A (a customer's own
tenant), 'other' ones in tenant B. A read-only token never writes.
"""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.services import create_api_token
from tests.factories import DriftFindingFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["MSP Admin", "MSP Engineer", "MSP Viewer", "Customer Viewer"]

# action -> (method, url, body); {slug} is tenant A's, {other} tenant B's, {finding} a finding in A.
ACTIONS = {
    "fleet page": ("get", "/admin/fleet/", None),
    "public admin: tenants": ("get", "/admin/tenants/tenant/", None),
    "public admin: add a role": ("get", "/admin/accounts/role/add/", None),
    "tenant page": ("get", "/t/{slug}/", None),
    "other tenant page": ("get", "/t/{other}/", None),
    "tenant admin: findings": ("get", "/t/{slug}/admin/drift/driftfinding/", None),
    "api: view findings": ("get", "/t/{slug}/api/v1/drift/findings/", None),
    "api: other tenant's findings": ("get", "/t/{other}/api/v1/drift/findings/", None),
    "api: view settings": ("get", "/t/{slug}/api/v1/settings/", None),
    "api: change settings": (
        "patch",
        "/t/{slug}/api/v1/settings/",
        {"polling_settings": {"enabled": True, "interval_minutes": 7, "page_size": 1000}},
    ),
    "api: list tenants": ("get", "/api/v1/tenants/", None),
    "api: MSP notification rules": ("get", "/api/v1/notifications/rules/", None),
    "public admin: MSP channels": ("get", "/admin/msp_notifications/mspchannel/", None),
    "public admin: add an MSP channel": ("get", "/admin/msp_notifications/mspchannel/add/", None),
    "admin: acknowledge finding": (
        "post",
        "/t/{slug}/admin/drift/driftfinding/",
        {"action": "acknowledge", "_selected_action": ["{finding}"]},
    ),
    "admin: delete tenant": ("get", "/admin/tenants/tenant/{tenant_pk}/delete/", None),
}

# Expected final HTTP status for (MSP Admin, MSP Engineer, MSP Viewer, Customer Viewer),
# redirects followed: a successful admin action lands on the list (200 with its message).
EXPECTED = {
    "fleet page": (200, 200, 200, 403),
    "public admin: tenants": (200, 200, 200, 403),
    "public admin: add a role": (200, 403, 403, 403),
    "tenant page": (200, 200, 200, 200),
    "other tenant page": (200, 200, 200, 404),
    "tenant admin: findings": (200, 200, 200, 403),
    "api: view findings": (200, 200, 200, 200),
    "api: other tenant's findings": (200, 200, 200, 404),
    "api: view settings": (200, 200, 200, 200),
    "api: change settings": (200, 200, 403, 403),
    "api: list tenants": (200, 200, 200, 403),
    "api: MSP notification rules": (200, 200, 200, 403),
    "public admin: MSP channels": (200, 200, 200, 403),
    "public admin: add an MSP channel": (200, 200, 403, 403),
    "admin: acknowledge finding": (200, 200, 200, 403),
    "admin: delete tenant": (403, 403, 403, 403),
}
ACKNOWLEDGES = {"MSP Admin", "MSP Engineer"}


@pytest.fixture
def finding_in_a(tenant_a):
    with tenant_context(tenant_a):
        return DriftFindingFactory()


def user_with(role: str, tenant_a):
    if role.startswith("Customer"):
        return UserFactory(role_name=role, tenant=tenant_a)
    return UserFactory(role_name=role, is_superuser=role == "MSP Admin")


def run(client: Client, action: str, tenant_a, tenant_b, finding, **headers):
    method, url, body = ACTIONS[action]
    fill = {
        "slug": tenant_a.slug,
        "other": tenant_b.slug,
        "finding": str(finding.pk),
        "tenant_pk": str(tenant_a.pk),
    }
    url = url.format(**fill)
    if body is not None and method == "post":
        body = {
            key: [v.format(**fill) for v in value] if isinstance(value, list) else value
            for key, value in body.items()
        }
        return client.post(url, body, follow=True, **headers)
    if body is not None:
        return getattr(client, method)(url, body, content_type="application/json", **headers)
    return getattr(client, method)(url, follow=True, **headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_matrix(role, action, tenant_a, tenant_b, finding_in_a, client_for):
    user = user_with(role, tenant_a)
    response = run(client_for(user), action, tenant_a, tenant_b, finding_in_a)
    assert response.status_code == EXPECTED[action][ROLES.index(role)], response.content[:300]
    if action == "admin: acknowledge finding":
        with tenant_context(tenant_a):
            finding_in_a.refresh_from_db()
        assert (finding_in_a.status == "acknowledged") is (role in ACKNOWLEDGES)


@pytest.mark.parametrize("role", ROLES)
def test_a_read_only_token_never_writes_whatever_the_role(role, tenant_a, tenant_b, finding_in_a):
    user = user_with(role, tenant_a)
    _, clear = create_api_token(user=user, name="ro", read_only=True)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {clear}"}
    write = run(Client(), "api: change settings", tenant_a, tenant_b, finding_in_a, **headers)
    assert write.status_code == 403
    read = run(Client(), "api: view findings", tenant_a, tenant_b, finding_in_a, **headers)
    assert read.status_code == 200


# What each default role may do to each model in the admin, as the admin answers it:
# v view (changelist), a add (add form), c change (save), d delete (delete page).
# Columns: MSP Admin, MSP Engineer, MSP Viewer, Customer Viewer ("-": nothing). It is the
# role's grants narrowed by what the admin offers at all (history is never edited, a
# tenant is never deleted from the admin, settings are versioned rather than edited).
MODEL_MATRIX = """
tenants.tenant                        vac   v     v     -
tenants.settings                      va    va    v     -
tenants.azurecredential               vacd  v     -     -
accounts.user                         vacd  v     v     -
accounts.role                         vacd  v     v     -
accounts.apitoken                     vad   vad   vad   -
account.emailaddress                  vacd  -     -     -
mfa.authenticator                     vd    -     -     -
social_django.usersocialauth          vd    -     -     -
django_celery_beat.periodictask       vacd  vc    v     -
django_celery_beat.intervalschedule   vacd  v     v     -
django_celery_beat.crontabschedule    vacd  v     v     -
django_celery_beat.solarschedule      vacd  v     v     -
django_celery_beat.clockedschedule    vacd  v     v     -
configurations.configuration          v     v     v     -
configurations.configurationhistory   v     v     v     -
configurations.pollrun                v     v     v     -
drift.baseline                        va    va    v     -
drift.driftexception                  vacd  vac   v     -
drift.driftfinding                    vc    vc    v     -
drift.driftreport                     v     v     v     -
notifications.channel                 vacd  vacd  v     -
notifications.notificationrule        vacd  vacd  v     -
notifications.delivery                vc    vc    v     -
notifications.snooze                  vacd  vacd  v     -
msp_notifications.mspchannel          vacd  vacd  v     -
msp_notifications.mspnotificationrule vacd  vacd  v     -
auditlog.signinglog                   v     v     v     -
auditlog_fleet.auditcollector         v     v     v     -
auditlog_fleet.forwarderstate         v     v     v     -
auditlog_fleet.outboxentry            vc    vc    v     -
"""
TENANT_ADMIN_APPS = {"configurations", "drift", "notifications"}
MODEL_ROWS = [line.split() for line in MODEL_MATRIX.strip().splitlines()]


def some_pk(model: str, tenant) -> str:
    """The pk of an existing row of ``model`` (``0``, a missing row, when there is none).

    The admin checks change and delete permission before it looks the row up, so a
    missing row answers 403 or a redirect; an existing one also runs the object checks.
    """
    from django.apps import apps

    app, _ = model.split(".")
    model_class = apps.get_model(model)
    schema = tenant_context(tenant) if app in TENANT_ADMIN_APPS else nullcontext()
    with schema:
        pk = model_class.objects.values_list("pk", flat=True).first()
    return str(pk or 0)


def admin_rights(client: Client, model: str, tenant) -> str:
    """Which of v/a/c/d the admin grants on ``model``, asked through HTTP, redirects
    followed (a refused sign-in to the admin ends in 403 too)."""
    app, name = model.split(".")
    root = f"/t/{tenant.slug}/admin" if app in TENANT_ADMIN_APPS else "/admin"
    base = f"{root}/{app}/{name}/"
    pk = some_pk(model, tenant)
    answers = {
        "v": client.get(base, follow=True).status_code,
        "a": client.get(f"{base}add/", follow=True).status_code,
        "c": client.post(f"{base}{pk}/change/", {}, follow=True).status_code,
        "d": client.get(f"{base}{pk}/delete/", follow=True).status_code,
    }
    for verb, status in answers.items():
        assert status in (200, 403), f"{model} {verb}: {status}"
    return "".join(verb for verb, status in answers.items() if status != 403)


def test_the_model_matrix_names_every_model_of_both_admins():
    from django.contrib import admin

    from driftdetector.admin_site import tenant_admin_site

    registered = {m._meta.label_lower for s in (admin.site, tenant_admin_site) for m in s._registry}
    assert registered == {row[0] for row in MODEL_ROWS}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_rights_on_every_admin_model(role, tenant_a, client_for):
    user = user_with(role, tenant_a)
    user.is_superuser = False  # the role alone grants; superuser status is tested elsewhere
    user.save(update_fields=["is_superuser"])
    client = client_for(user)
    column = ROLES.index(role) + 1
    expected = {row[0]: row[column].replace("-", "") for row in MODEL_ROWS}
    actual = {model: admin_rights(client, model, tenant_a) for model in expected}
    assert actual == expected
