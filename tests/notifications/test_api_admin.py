"""Tenant API and admin for notifications: isolation of every URL, write-only secrets,
clear errors on bad input, Send test and Resend."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications import services
from notifications.models import Channel, Delivery
from tests.notifications.helpers import channel, make_report_with, pending_delivery

pytestmark = pytest.mark.django_db

SECRET_PATH = "s3cr3t-path-token"


@pytest.fixture
def objects(tenant_a, inbox):
    """A channel of each kind, a rule, a delivery with an attempt and a snooze in tenant A."""
    connection.set_tenant(tenant_a)
    hook = channel("webhook", f"{inbox.url}/{SECRET_PATH}", name="hook")
    slack = channel("slack", f"{inbox.url}/slack", name="slack")
    rule = services.create_rule(name="on call", actor="t", channels=[hook, slack])
    delivery = pending_delivery(hook)
    services.attempt_delivery(delivery_id=delivery.pk)
    _, [finding] = make_report_with([{}])
    snooze = services.snooze(
        finding_id=finding.pk, until=timezone.now() + timedelta(hours=1), reason="r", actor="t"
    )
    connection.set_schema_to_public()
    return {"channel": hook, "rule": rule, "delivery": delivery, "snooze": snooze}


URLS = [
    "/t/{slug}/api/v1/notifications/channels/",
    "/t/{slug}/api/v1/notifications/channels/{channel}/",
    "/t/{slug}/api/v1/notifications/rules/",
    "/t/{slug}/api/v1/notifications/rules/{rule}/",
    "/t/{slug}/api/v1/notifications/deliveries/",
    "/t/{slug}/api/v1/notifications/deliveries/{delivery}/",
    "/t/{slug}/api/v1/notifications/snoozes/",
    "/t/{slug}/api/v1/notifications/snoozes/{snooze}/",
    "/t/{slug}/admin/notifications/channel/",
    "/t/{slug}/admin/notifications/channel/{channel}/change/",
    "/t/{slug}/admin/notifications/notificationrule/",
    "/t/{slug}/admin/notifications/notificationrule/{rule}/change/",
    "/t/{slug}/admin/notifications/delivery/",
    "/t/{slug}/admin/notifications/delivery/{delivery}/change/",
    "/t/{slug}/admin/notifications/snooze/",
]


def _url(pattern, objects):
    return pattern.format(slug="{slug}", **{k: v.pk for k, v in objects.items()}).replace(
        "{{slug}}", "{slug}"
    )


@pytest.mark.parametrize("url", URLS)
def test_every_notifications_url_is_isolated(
    assert_isolated, url, tenant_a, msp_engineer, customer_b, objects
):
    assert_isolated(
        _url(url, objects),
        tenant=tenant_a,
        owner=msp_engineer,
        intruder=customer_b,
        secrets=("on call", "hook"),
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/t/{slug}/api/v1/notifications/channels/{channel}/test/"),
        ("post", "/t/{slug}/api/v1/notifications/deliveries/{delivery}/resend/"),
        ("post", "/t/{slug}/admin/notifications/channel/{channel}/send-test/"),
    ],
)
def test_actions_are_refused_to_another_tenant(
    method, url, tenant_a, customer_b, client_for, objects, inbox
):
    response = getattr(client_for(customer_b), method)(
        _url(url, objects).format(slug=tenant_a.slug)
    )
    assert response.status_code in (403, 404)
    assert inbox.inbox.requests == 1, "only the fixture's own delivery reached the receiver"


def test_customers_do_not_see_their_own_channels(tenant_a, customer_a, client_for, objects):
    response = client_for(customer_a).get(f"/t/{tenant_a.slug}/api/v1/notifications/channels/")
    assert response.status_code == 403


def test_urls_and_secrets_never_appear_in_api_or_admin_output(
    tenant_a, msp_admin, client_for, objects
):
    connection.set_tenant(tenant_a)
    secret = Channel.objects.get(pk=objects["channel"].pk).secret
    connection.set_schema_to_public()
    client = client_for(msp_admin)
    pages = [
        f"/t/{tenant_a.slug}/api/v1/notifications/channels/",
        f"/t/{tenant_a.slug}/api/v1/notifications/channels/{objects['channel'].pk}/",
        f"/t/{tenant_a.slug}/admin/notifications/channel/",
        f"/t/{tenant_a.slug}/admin/notifications/channel/{objects['channel'].pk}/change/",
        f"/t/{tenant_a.slug}/admin/notifications/delivery/{objects['delivery'].pk}/change/",
    ]
    for page in pages:
        response = client.get(page)
        body = response.content.decode()
        assert response.status_code == 200, page
        assert SECRET_PATH not in body and secret not in body, page
        assert secret.removeprefix("whsec_") not in body, page
    detail = client.get(pages[1]).json()
    assert detail["has_url"] and detail["has_secret"] and "url" not in detail


def test_api_creates_a_channel_without_echoing_its_url(tenant_a, msp_admin, client_for, inbox):
    response = client_for(msp_admin).post(
        f"/t/{tenant_a.slug}/api/v1/notifications/channels/",
        data=json.dumps(
            {
                "name": "teams",
                "kind": "teams",
                "url": f"{inbox.url}/teams/{SECRET_PATH}",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert SECRET_PATH not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "teams", "url": "https://a.webhook.office.com/webhookb2/1"}, "url"),
        ({"name": "x", "kind": "slack", "url": "https://192.168.0.10/hook"}, "url"),
        ({"name": "x", "kind": "email", "addresses": ["nope"]}, "addresses"),
        ({"name": "x", "kind": "webhook", "url": "https://8.8.8.8/"}, "secret"),
    ],
)
def test_api_bad_channel_input_is_a_400_naming_the_field(
    tenant_a, msp_admin, client_for, body, field
):
    response = client_for(msp_admin).post(
        f"/t/{tenant_a.slug}/api/v1/notifications/channels/",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 400 and field in response.json()["errors"], response.content


def test_api_rule_with_unknown_severity_is_a_400(tenant_a, msp_admin, client_for, objects):
    response = client_for(msp_admin).post(
        f"/t/{tenant_a.slug}/api/v1/notifications/rules/",
        data=json.dumps({"name": "r", "min_severity": "urgent", "channels": []}),
        content_type="application/json",
    )
    assert response.status_code == 400 and "min_severity" in response.json()["errors"]


def test_api_test_action_returns_the_receivers_answer(
    tenant_a, msp_admin, client_for, objects, inbox
):
    response = client_for(msp_admin).post(
        f"/t/{tenant_a.slug}/api/v1/notifications/channels/{objects['channel'].pk}/test/"
    )
    assert response.status_code == 200
    assert response.json()["http_status"] == 200 and response.json()["success"]
    assert len(inbox.inbox.of_kind("webhook")) == 2


def test_admin_send_test_shows_the_answer_and_resend_queues(
    tenant_a, msp_admin, client_for, objects, inbox
):
    client = client_for(msp_admin)
    base = f"/t/{tenant_a.slug}/admin/notifications"
    response = client.post(f"{base}/channel/{objects['channel'].pk}/send-test/", follow=True)
    assert "Test to hook: delivered - receiver answered 200" in response.content.decode()
    assert "last test" in response.content.decode()
    assert client.get(f"{base}/channel/{objects['channel'].pk}/send-test/").status_code == 403

    response = client.post(
        f"{base}/delivery/",
        {"action": "resend", "_selected_action": [objects["delivery"].pk]},
        follow=True,
    )
    assert "1 deliveries queued to send again" in response.content.decode()
    connection.set_tenant(tenant_a)
    assert Delivery.objects.filter(idempotency_key__contains=".resend-").count() == 1
    connection.set_schema_to_public()


def test_admin_channel_form_refuses_a_private_url(tenant_a, msp_admin, client_for, objects):
    response = client_for(msp_admin).post(
        f"/t/{tenant_a.slug}/admin/notifications/channel/add/",
        {"name": "bad", "kind": "slack", "new_url": "https://10.0.0.1/x", "enabled": "on"},
    )
    assert response.status_code == 200 and "private" in response.content.decode()
    connection.set_tenant(tenant_a)
    assert not Channel.objects.filter(name="bad").exists()
    connection.set_schema_to_public()
