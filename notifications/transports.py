"""Sending one delivery over its channel; the answer is classified, never raised.

HTTP kinds go through the SSRF guard (ssrf.check_url, then a POST pinned to the checked
address); email goes to the configured SMTP server (not user-supplied). The outcome says
whether the message arrived, whether to retry (timeouts, connection errors, 5xx, 408,
429 with its Retry-After), or to give up (other 4xx, redirects, a refused URL), and
whether the receiver said the endpoint is gone (410).
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from standardwebhooks.webhooks import Webhook

from notifications import messages, ssrf
from notifications.choices import ChannelKind
from notifications.models import Channel

SNIPPET_CHARS = 1000
RETRY_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt, as recorded in a DeliveryAttempt."""

    success: bool
    retry: bool
    latency_ms: int = 0
    http_status: int | None = None
    smtp_reply: str = ""
    snippet: str = ""
    error: str = ""
    retry_after: float | None = None
    gone: bool = False


USER_AGENT = "AzureDriftDetector-Notifications/1"


def allow_list() -> tuple[ssrf.Network, ...]:
    """Networks the SSRF guard lets through (settings.NOTIFY_ALLOWED_NETWORKS)."""
    return ssrf.parse_networks(settings.NOTIFY_ALLOWED_NETWORKS)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def signature_headers(channel: Channel, msg_id: str, body: str, *, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers, signed with the current secret and, during a rotation, the
    previous one (receivers accept a message if any listed signature verifies)."""
    secrets = [channel.secret]
    if channel.previous_secret and (
        channel.previous_secret_expires_at is None or channel.previous_secret_expires_at > now
    ):
        secrets.append(channel.previous_secret)
    signatures = " ".join(Webhook(secret).sign(msg_id, now, body) for secret in secrets if secret)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


def _http_body(channel: Channel, message: dict[str, Any], msg_id: str, now: datetime):
    if channel.kind == ChannelKind.SLACK:
        return json.dumps(messages.render_slack(message)), {}
    if channel.kind == ChannelKind.TEAMS:
        return json.dumps(messages.render_teams(message)), {}
    body = json.dumps(messages.render_webhook(message, timestamp=now.isoformat()))
    return body, signature_headers(channel, msg_id, body, now=now)


def _classify_http(answer: ssrf.Answer) -> Outcome:
    snippet = answer.body[:SNIPPET_CHARS].decode("utf-8", errors="replace")
    if answer.truncated:
        snippet += f" [answer cut at {settings.NOTIFY_MAX_RESPONSE_BYTES} bytes]"
    common: dict[str, Any] = {
        "latency_ms": answer.latency_ms,
        "http_status": answer.status,
        "snippet": snippet,
    }
    status = answer.status
    if status is None:
        return Outcome(success=False, retry=True, error=answer.error, **common)
    if 200 <= status < 300:
        return Outcome(success=True, retry=False, **common)
    if 300 <= status < 400:
        location = answer.headers.get("location", "")
        error = f"redirect to {location or '(no location)'} not followed"
        return Outcome(success=False, retry=False, error=error, **common)
    if status == 410:
        return Outcome(success=False, retry=False, gone=True, error="410 Gone", **common)
    if status in RETRY_STATUSES or status >= 500:
        return Outcome(
            success=False,
            retry=True,
            error=f"HTTP {status}",
            retry_after=_retry_after(answer.headers.get("retry-after")),
            **common,
        )
    return Outcome(success=False, retry=False, error=f"HTTP {status}", **common)


def send_http(channel: Channel, message: dict[str, Any], msg_id: str) -> Outcome:
    """POST the message to the channel's URL (checked by the SSRF guard first)."""
    try:
        target = ssrf.check_url(channel.url, allow=allow_list())
    except ssrf.UnsafeURL as exc:
        return Outcome(success=False, retry=False, error=f"refused: {exc}")
    now = datetime.now(UTC)
    body, extra = _http_body(channel, message, msg_id, now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **extra,
    }
    answer = ssrf.post(
        target,
        body.encode(),
        headers,
        timeout=settings.NOTIFY_TIMEOUT_SECONDS,
        max_body=settings.NOTIFY_MAX_RESPONSE_BYTES,
        ca_bundle=settings.NOTIFY_CA_BUNDLE,
    )
    return _classify_http(answer)


def send_email(channel: Channel, message: dict[str, Any], msg_id: str) -> Outcome:
    """Send through the notification SMTP server; the final reply to DATA is recorded."""
    subject, text = messages.render_email(message)
    mail = EmailMessage()
    mail["From"] = settings.NOTIFY_EMAIL_FROM
    mail["To"] = ", ".join(channel.addresses)
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{msg_id}@drift-detector>"
    mail.set_content(text)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with smtplib.SMTP(
            settings.NOTIFY_SMTP_HOST,
            settings.NOTIFY_SMTP_PORT,
            timeout=settings.NOTIFY_TIMEOUT_SECONDS,
        ) as smtp:
            if settings.NOTIFY_SMTP_STARTTLS:
                smtp.starttls(context=ssl.create_default_context())
            if settings.NOTIFY_SMTP_USER:
                smtp.login(settings.NOTIFY_SMTP_USER, settings.NOTIFY_SMTP_PASSWORD)
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(settings.NOTIFY_EMAIL_FROM)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, settings.NOTIFY_EMAIL_FROM)
            refused = {}
            for address in channel.addresses:
                code, reply = smtp.rcpt(address)
                if code not in (250, 251):
                    refused[address] = (code, reply)
            if len(refused) == len(channel.addresses):
                smtp.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            code, reply = smtp.data(mail.as_bytes(policy=email_policy.SMTP))
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            reply_text = f"{code} {reply.decode(errors='replace')}"[:300]
    except smtplib.SMTPResponseException as exc:
        reply = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"[:300]
        return Outcome(
            success=False,
            retry=exc.smtp_code >= 400 and exc.smtp_code < 500,
            latency_ms=elapsed(),
            smtp_reply=reply,
            error=f"SMTP {exc.smtp_code}",
        )
    except smtplib.SMTPRecipientsRefused as exc:
        reply = "; ".join(
            f"{rcpt}: {code} {msg.decode(errors='replace')}"
            for rcpt, (code, msg) in exc.recipients.items()
        )[:300]
        return Outcome(
            success=False, retry=False, latency_ms=elapsed(), smtp_reply=reply, error="refused"
        )
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        return Outcome(
            success=False, retry=True, latency_ms=elapsed(), error=f"{type(exc).__name__}: {exc}"
        )
    return Outcome(success=True, retry=False, latency_ms=elapsed(), smtp_reply=reply_text)


def send_pagerduty(channel: Channel, message: dict[str, Any], msg_id: str) -> Outcome:
    """POST the message's PagerDuty events (a trigger, resolves) to the Events v2 endpoint
    in order; the first failure is the outcome (a retry sends them all again: PagerDuty
    dedupes on dedup_key)."""
    try:
        target = ssrf.check_url(channel.url, allow=allow_list())
    except ssrf.UnsafeURL as exc:
        return Outcome(success=False, retry=False, error=f"refused: {exc}")
    now = datetime.now(UTC)
    events = messages.render_pagerduty(
        message, routing_key=channel.secret, dedup_key=msg_id, timestamp=now.isoformat()
    )
    outcome = Outcome(success=True, retry=False, error="")
    for event in events:
        answer = ssrf.post(
            target,
            json.dumps(event).encode(),
            {"Content-Type": "application/json", "User-Agent": USER_AGENT},
            timeout=settings.NOTIFY_TIMEOUT_SECONDS,
            max_body=settings.NOTIFY_MAX_RESPONSE_BYTES,
            ca_bundle=settings.NOTIFY_CA_BUNDLE,
        )
        outcome = _classify_http(answer)
        if not outcome.success:
            return outcome
    return outcome


def send(channel: Channel, message: dict[str, Any], msg_id: str) -> Outcome:
    """Send ``message`` over ``channel`` with ``msg_id`` as its idempotency id."""
    if channel.kind == ChannelKind.EMAIL:
        return send_email(channel, message, msg_id)
    if channel.kind == ChannelKind.PAGERDUTY:
        return send_pagerduty(channel, message, msg_id)
    return send_http(channel, message, msg_id)
