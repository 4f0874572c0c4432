"""Sending deliveries to real loopback receivers: what arrives, what is retried, what is
recorded, and every way a receiver can misbehave."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from auditlog.models import SigningLog
from notifications import services
from notifications.inbox import Reply
from notifications.models import Channel, Delivery
from tenants.models import Tenant, TenantStatus
from tests.notifications.helpers import channel, pending_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_tenant_a(tenant_a, in_tenant):
    in_tenant(tenant_a)


def send(delivery):
    services.attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery, delivery.attempt_log.first()


def test_webhook_is_signed_per_standard_webhooks_with_a_stable_id(inbox):
    ch = channel("webhook", f"{inbox.url}/webhook")
    delivery, attempt = send(pending_delivery(ch, key="tenant_a.report7.rule1.ch1"))

    assert delivery.status == "sent" and attempt.http_status == 200 and attempt.success
    [message] = inbox.inbox.of_kind("webhook")
    headers = message["headers"]
    assert headers["webhook-id"] == "tenant_a.report7.rule1.ch1"
    Webhook(ch.secret).verify(json.dumps(message["body"]), headers)  # raises if not valid
    finding = message["body"]["data"]["findings"][0]
    assert finding["event"] == "opened" and finding["dedupe_key"] == "tenant-a:1"
    assert message["body"]["type"] == "drift.findings"


def test_during_a_rotation_both_secrets_verify(inbox):
    ch = channel("webhook", f"{inbox.url}/webhook")
    old = ch.secret
    new = services.generate_secret()
    services.rotate_secret(channel=ch, actor="test", secret=new)
    ch.refresh_from_db()
    send(pending_delivery(ch))
    [message] = inbox.inbox.of_kind("webhook")
    body = json.dumps(message["body"])
    for secret in (old, new):
        Webhook(secret).verify(body, message["headers"])
    assert len(message["headers"]["webhook-signature"].split(" ")) == 2


def test_slack_gets_block_kit_and_teams_an_adaptive_card_1_4(inbox):
    send(pending_delivery(channel("slack", f"{inbox.url}/slack"), key="s"))
    send(pending_delivery(channel("teams", f"{inbox.url}/teams"), key="t"))
    [slack] = inbox.inbox.of_kind("slack")
    assert slack["body"]["blocks"][0]["type"] == "header"
    assert (
        "nsg-web" in json.dumps(slack["body"])
        and "mallory@contoso.com" in slack["body"]["blocks"][2]["text"]["text"]
    )
    [teams] = inbox.inbox.of_kind("teams")
    card = teams["body"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["version"] == "1.4" and teams["body"]["type"] == "message"


def test_email_goes_through_smtp_and_records_the_servers_reply(inbox):
    ch = channel("email", addresses=["oncall@example.com", "noc@example.com"])
    delivery, attempt = send(pending_delivery(ch, key="mail-1"))
    assert delivery.status == "sent"
    assert attempt.smtp_reply.startswith("250")
    [mail] = inbox.inbox.of_kind("email")
    assert mail["to"] == ["oncall@example.com", "noc@example.com"]
    assert "nsg-web" in mail["text"] and '-> "*"' in mail["text"]
    assert mail["id"] == "<mail-1@drift-detector>"


def test_unreachable_smtp_is_a_failed_attempt_with_a_retry(inbox, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.NOTIFY_SMTP_PORT = probe.getsockname()[1]  # nothing listens there
    delivery, attempt = send(pending_delivery(channel("email", addresses=["a@example.com"])))
    assert delivery.status == "failed" and not attempt.success
    assert "ConnectionRefused" in attempt.error


def test_500_is_retried_later_with_backoff(inbox):
    inbox.inbox.script["/hook"] = [Reply(500, body=b"boom")]
    before = timezone.now()
    delivery, attempt = send(pending_delivery(channel("webhook", f"{inbox.url}/hook")))
    assert delivery.status == "failed" and attempt.http_status == 500
    assert attempt.response_snippet == "boom"
    # base 5 s with equal jitter: between 2.5 s and 5 s from now
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 2.4 <= wait <= 6, wait


def test_429_honours_retry_after(inbox):
    inbox.inbox.script["/hook"] = [Reply(429, {"Retry-After": "120"})]
    before = timezone.now()
    delivery, attempt = send(pending_delivery(channel("webhook", f"{inbox.url}/hook")))
    assert delivery.status == "failed" and attempt.http_status == 429
    assert (delivery.next_attempt_at - before).total_seconds() >= 119


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_are_not_retried(inbox, status):
    inbox.inbox.script["/hook"] = [Reply(status)]
    delivery, attempt = send(pending_delivery(channel("webhook", f"{inbox.url}/hook")))
    assert delivery.status == "dead" and attempt.http_status == status
    assert delivery.next_attempt_at is None


def test_410_disables_the_channel_on_the_fleet_page_and_in_the_audit_log(inbox, tenant_a):
    inbox.inbox.script["/gone"] = [Reply(410)]
    ch = channel("slack", f"{inbox.url}/gone", name="gone slack")
    delivery, _ = send(pending_delivery(ch, key="g1"))
    other = pending_delivery(ch, key="g2")
    ch.refresh_from_db()
    assert delivery.status == "dead" and not ch.enabled and "410" in ch.disabled_reason
    assert TenantStatus.objects.get(tenant=tenant_a).failing_channels == ["gone slack"]
    assert SigningLog.objects.filter(
        action="notification_channel_disabled", resource="channel gone slack"
    ).exists()
    requests = inbox.inbox.requests
    other, attempt = send(other)
    assert other.status == "dead" and "channel disabled" in attempt.error
    assert inbox.inbox.requests == requests, "a disabled channel is not called"
    services.update_channel(channel=ch, actor="test", enabled=True)
    ch.refresh_from_db()
    assert ch.enabled and ch.consecutive_failures == 0 and not ch.disabled_reason
    assert TenantStatus.objects.get(tenant=tenant_a).failing_channels == []


def test_n_failures_in_a_row_disable_the_channel(inbox, settings):
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 3
    inbox.inbox.script["/hook"] = [Reply(503)]
    ch = channel("webhook", f"{inbox.url}/hook")
    for i in range(3):
        send(pending_delivery(ch, key=f"n{i}"))
    ch.refresh_from_db()
    assert not ch.enabled and ch.disabled_reason == "3 failed attempts in a row"


def test_a_hanging_receiver_times_out_and_is_retried(inbox, settings):
    settings.NOTIFY_TIMEOUT_SECONDS = 0.5
    inbox.inbox.script["/slow"] = [Reply(200, delay=3)]
    started = time.monotonic()
    delivery, attempt = send(pending_delivery(channel("webhook", f"{inbox.url}/slow")))
    assert time.monotonic() - started < 2.5
    assert delivery.status == "failed" and "timed out" in attempt.error


def test_a_redirect_is_not_followed_even_to_a_private_target(inbox):
    inbox.inbox.script["/moved"] = [
        Reply(302, {"Location": "http://169.254.169.254/metadata/instance"})
    ]
    delivery, attempt = send(pending_delivery(channel("webhook", f"{inbox.url}/moved")))
    assert delivery.status == "dead" and attempt.http_status == 302
    assert "not followed" in attempt.error and inbox.inbox.requests == 1


def test_an_enormous_answer_is_read_only_up_to_the_limit(inbox, settings):
    settings.NOTIFY_MAX_RESPONSE_BYTES = 4096
    inbox.inbox.script["/big"] = [Reply(200, body=b"x" * 5_000_000)]
    delivery, attempt = send(pending_delivery(channel("webhook", f"{inbox.url}/big")))
    assert delivery.status == "sent"
    assert len(attempt.response_snippet) < 1200 and "cut at 4096 bytes" in attempt.response_snippet


@pytest.fixture
def untrusted_tls_receiver():
    """An HTTPS receiver whose certificate no trusted CA signed."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_an_invalid_tls_certificate_is_a_failed_attempt(inbox, untrusted_tls_receiver):
    delivery, attempt = send(pending_delivery(channel("webhook", untrusted_tls_receiver)))
    assert delivery.status == "failed" and "TLS error" in attempt.error
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error


def test_a_url_that_became_private_is_refused_at_send_time(inbox, settings):
    ch = channel("webhook", f"{inbox.url}/hook")
    settings.NOTIFY_ALLOWED_NETWORKS = []
    delivery, attempt = send(pending_delivery(ch))
    assert delivery.status == "dead" and attempt.error.startswith("refused:")
    assert "loopback" in attempt.error and inbox.inbox.requests == 0


def test_a_channel_deleted_with_pending_deliveries_leaves_them_on_record_as_dead(inbox):
    ch = channel("webhook", f"{inbox.url}/hook")
    pending = pending_delivery(ch)
    services.delete_channel(channel=ch, actor="test")
    pending.refresh_from_db()
    assert pending.channel_id is None and pending.status == "dead"
    assert pending.last_error == "channel deleted" and pending.channel_name == ch.name
    assert services.attempt_delivery(delivery_id=pending.pk) is None


def test_a_delivery_already_sent_or_not_due_is_not_sent_again(inbox):
    delivery = pending_delivery(channel("webhook", f"{inbox.url}/hook"))
    send(delivery)
    assert services.attempt_delivery(delivery_id=delivery.pk) is None
    later = pending_delivery(Channel.objects.get(), key="later")
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert services.attempt_delivery(delivery_id=later.pk) is None
    assert len(inbox.inbox.messages) == 1


def test_resend_of_a_sent_delivery_is_a_new_message(inbox):
    delivery, _ = send(pending_delivery(channel("webhook", f"{inbox.url}/hook")))
    copy = services.resend(delivery=delivery, actor="test")
    assert copy.pk != delivery.pk and copy.idempotency_key.startswith(delivery.idempotency_key)
    services.attempt_delivery(delivery_id=copy.pk)
    ids = [m["id"] for m in inbox.inbox.of_kind("webhook")]
    assert len(ids) == 2 and len(set(ids)) == 2


def test_send_test_shows_the_receivers_answer(inbox):
    inbox.inbox.script["/hook"] = [Reply(202, body=b"queued by receiver")]
    attempt = services.send_test(channel=channel("webhook", f"{inbox.url}/hook"), actor="t")
    assert attempt.http_status == 202 and attempt.response_snippet == "queued by receiver"


@pytest.mark.parametrize(
    ("kind", "kwargs", "field", "message"),
    [
        (
            "email",
            {"addresses": ["not-an-address", "ok@example.com"]},
            "addresses",
            "not-an-address",
        ),
        ("email", {"addresses": []}, "addresses", "at least one"),
        ("slack", {"url": "https://10.0.0.5/hook"}, "url", "private"),
        ("webhook", {"url": "https://169.254.169.254/latest"}, "url", "blocked"),
        ("webhook", {"url": "ftp://example.com/hook"}, "url", "https://"),
        ("webhook", {"url": "http://[::1"}, "url", "not a valid URL"),
        ("teams", {"url": "https://contoso.webhook.office.com/webhookb2/abc"}, "url", "Workflows"),
        ("webhook", {"url": "https://8.8.8.8/h", "secret": "plain"}, "secret", "whsec_"),
        ("pager", {"url": "https://8.8.8.8/h"}, "kind", "unknown channel kind"),
    ],
)
def test_bad_channel_input_gets_a_clear_field_error_and_saves_nothing(kind, kwargs, field, message):
    with pytest.raises(ValidationError) as err:
        services.create_channel(name="bad", kind=kind, actor="test", **kwargs)
    assert message in " ".join(err.value.message_dict[field])
    assert not Channel.objects.filter(name="bad").exists()


def test_secrets_and_urls_are_encrypted_at_rest(inbox):
    from django.db import connection

    ch = channel("webhook", f"{inbox.url}/secret-path")
    with connection.cursor() as cursor:
        cursor.execute("SELECT url, secret FROM notifications_channel WHERE id = %s", [ch.pk])
        url, secret = cursor.fetchone()
    assert "secret-path" not in url and "whsec_" not in secret


def test_the_sweep_finds_due_deliveries_of_every_tenant_in_one_query(
    inbox, tenant_a, tenant_b, django_assert_num_queries
):
    from django.db import connection

    from notifications.selectors import due_deliveries_across

    due_a = pending_delivery(channel("webhook", f"{inbox.url}/a"), key="due-a")
    later = pending_delivery(Channel.objects.get(), key="later-a")
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    queued = pending_delivery(Channel.objects.get(), key="queued-a")
    Delivery.objects.filter(pk=queued.pk).update(
        enqueued_until=timezone.now() + timedelta(minutes=1)
    )
    connection.set_tenant(tenant_b)
    due_b = pending_delivery(channel("slack", f"{inbox.url}/b"), key="due-b")
    connection.set_schema_to_public()
    Tenant.objects.exists()  # the schema switch's SET search_path happens here
    with django_assert_num_queries(1):
        found = due_deliveries_across([tenant_a.schema_name, tenant_b.schema_name])
    assert sorted(found) == sorted(
        [(tenant_a.schema_name, due_a.pk), (tenant_b.schema_name, due_b.pk)]
    )
