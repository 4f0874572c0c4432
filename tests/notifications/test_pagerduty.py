"""PagerDuty Events v2 channels: a trigger per grouped message keyed by the delivery's
idempotency key, a resolve with the same key once its findings are resolved, through a
loopback receiver."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from drift.models import DriftFinding, DriftReport
from notifications import services
from notifications.models import Channel, Delivery
from tests.notifications.helpers import make_report_with

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey12"


def pagerduty(url: str) -> Channel:
    return services.create_channel(
        name="pd", kind="pagerduty", url=url, secret=ROUTING_KEY, actor="t"
    )


def test_trigger_then_resolve_with_the_group_key(tenant_a, in_tenant, inbox):
    in_tenant(tenant_a)
    pd = pagerduty(f"{inbox.url}/pagerduty/v2/enqueue")
    services.create_rule(name="pd", actor="t", channels=[pd], min_severity="medium")
    report, findings = make_report_with([{}, {"severity": "medium"}])
    [opened] = services.evaluate_report(report_id=report.pk)
    services.attempt_delivery(delivery_id=opened)
    trigger_delivery = Delivery.objects.get(pk=opened)
    assert trigger_delivery.status == "sent"
    [trigger] = inbox.inbox.of_kind("pagerduty")
    body = trigger["body"]
    assert body["event_action"] == "trigger" and body["routing_key"] == ROUTING_KEY
    assert body["dedup_key"] == trigger_delivery.idempotency_key
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == f"azure-drift-detector/{tenant_a.slug}"
    assert len(body["payload"]["custom_details"]["findings"]) == 2

    # One of the two findings resolved: the alert stays open.
    now = timezone.now()
    later = DriftReport.objects.create(started_at=now, finished_at=now)
    DriftFinding.objects.filter(pk=findings[0].pk).update(status="resolved", resolved_at=now)
    [partial] = services.evaluate_report(report_id=later.pk)
    services.attempt_delivery(delivery_id=partial)
    assert len(inbox.inbox.of_kind("pagerduty")) == 1, "nothing to trigger, nothing to resolve"

    # Both resolved: the alert resolves, by the trigger's dedup key.
    last_at = timezone.now()
    last = DriftReport.objects.create(started_at=last_at, finished_at=last_at)
    DriftFinding.objects.filter(pk=findings[1].pk).update(status="resolved", resolved_at=last_at)
    [closing] = services.evaluate_report(report_id=last.pk)
    services.attempt_delivery(delivery_id=closing)
    resolve = inbox.inbox.of_kind("pagerduty")[-1]["body"]
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger_delivery.idempotency_key,
    }


def test_a_refused_event_is_a_recorded_failure_and_retried_on_429(tenant_a, in_tenant, inbox):
    from notifications.inbox import Reply

    in_tenant(tenant_a)
    pd = pagerduty(f"{inbox.url}/pagerduty/v2/enqueue")
    services.create_rule(name="pd", actor="t", channels=[pd], min_severity="medium")
    inbox.inbox.script["/pagerduty/v2/enqueue"] = [Reply(status=429)]
    report, _ = make_report_with([{}])
    [pk] = services.evaluate_report(report_id=report.pk)
    services.attempt_delivery(delivery_id=pk)
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.status == "failed" and delivery.next_attempt_at is not None
    assert delivery.attempt_log.get().http_status == 429


def test_routing_key_is_required_valid_and_write_only(tenant_a, in_tenant, settings):
    from notifications.api.serializers import ChannelSerializer

    settings.NOTIFY_PAGERDUTY_EVENTS_URL = "https://8.8.8.8/v2/enqueue"  # no DNS in tests
    in_tenant(tenant_a)
    with pytest.raises(ValidationError) as missing:
        services.create_channel(name="pd", kind="pagerduty", actor="t")
    assert "secret" in missing.value.message_dict
    with pytest.raises(ValidationError) as short:
        services.create_channel(name="pd", kind="pagerduty", secret="abc", actor="t")
    assert "32" in str(short.value)
    pd = services.create_channel(name="pd", kind="pagerduty", secret=ROUTING_KEY, actor="t")
    assert pd.url == settings.NOTIFY_PAGERDUTY_EVENTS_URL
    shown = ChannelSerializer(pd).data
    assert ROUTING_KEY not in str(shown) and shown["has_secret"] is True
    assert Channel.objects.count() == 1
