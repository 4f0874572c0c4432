"""From detection passes to deliveries: grouping, state changes only, resolved routing,
snoozes, quiet hours, digests, rule validation."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from configurations.models import Configuration
from drift.models import DriftFinding, DriftReport, PathActivity
from notifications import services
from notifications.models import Delivery, DeliveryItem, NotificationRule
from tests.drift.helpers import detect, in_schema
from tests.notifications.helpers import channel, make_report_with

pytestmark = pytest.mark.django_db


def rule(channels, **kwargs):
    kwargs.setdefault("min_severity", "medium")
    return services.create_rule(
        name=kwargs.pop("name", "on call"), actor="t", channels=channels, **kwargs
    )


def test_a_real_pass_is_one_grouped_message_per_channel_then_quiet_then_resolved(
    collected, collect, sim_client, inbox
):
    """Drift in the simulator -> collection -> detection -> one delivery per channel;
    the same drift in the next pass sends nothing; the revert sends "resolved"."""
    tenant = collected

    def evaluate(report):
        return in_schema(tenant, lambda: services.evaluate_report(report_id=report.pk))

    with tenant_context(tenant):
        hook = channel("webhook", f"{inbox.url}/webhook")
        mail = channel("email", addresses=["oncall@example.com"])
        rule([hook, mail], min_severity="medium")
        nsg = Configuration.objects.filter(
            resource_type="microsoft.network/networksecuritygroups"
        ).first()
        storage = Configuration.objects.filter(
            resource_type="microsoft.storage/storageaccounts"
        ).first()
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    original = storage.config_data["properties"].get("minimumTlsVersion")
    weak = "TLS1_1" if original == "TLS1_0" else "TLS1_0"
    sim_client.modify_resource(storage.resource_id, {"properties": {"minimumTlsVersion": weak}})
    collect(tenant)
    first = detect(tenant)
    queued = evaluate(first)

    with tenant_context(tenant):
        deliveries = list(Delivery.objects.all())
        assert sorted(d.channel_name for d in deliveries) == ["email channel", "webhook channel"]
        assert sorted(queued) == sorted(d.pk for d in deliveries)
        findings = DriftFinding.objects.filter(
            status="open", severity__in=["medium", "high", "critical"]
        )
        for delivery in deliveries:
            assert delivery.items.count() == findings.count() >= 2
            message = delivery.payload
            assert message["events"] == {"opened": findings.count()}
            assert message["by_severity"].get("critical", 0) >= 1
            top = message["findings"][0]
            assert top["severity"] == "critical" and top["changed_by"] == "mallory@contoso.com"
            assert f"/t/{tenant.slug}/admin/drift/driftfinding/" in top["url"]
        for delivery in deliveries:
            services.attempt_delivery(delivery_id=delivery.pk)
    assert len(inbox.inbox.of_kind("webhook")) == 1 and len(inbox.inbox.of_kind("email")) == 1

    collect(tenant)
    second = detect(tenant)
    assert evaluate(second) == []
    assert in_schema(tenant, lambda: Delivery.objects.count()) == 2, "persisting drift is quiet"

    sim_client.modify_resource(storage.resource_id, {"properties": {"minimumTlsVersion": original}})
    collect(tenant)
    third = detect(tenant)
    evaluate(third)
    with tenant_context(tenant):
        resolved = Delivery.objects.filter(report_id=third.pk)
        assert sorted(d.channel_name for d in resolved) == ["email channel", "webhook channel"]
        for delivery in resolved:
            items = list(delivery.items.values_list("event", flat=True))
            assert items == ["resolved"], items
            assert delivery.payload["findings"][0]["path"] == "properties.minimumTlsVersion"


def test_resolved_goes_only_to_channels_that_got_the_opened(tenant_a, in_tenant):
    in_tenant(tenant_a)
    told = channel("slack", "https://8.8.8.8/told", name="told")
    late = channel("slack", "https://8.8.8.8/late", name="late")
    first = rule([told])
    report, [finding] = make_report_with([{}])
    services.evaluate_report(report_id=report.pk)
    first.channels.add(late)
    now = timezone.now()
    later = DriftReport.objects.create(started_at=now, finished_at=now)
    DriftFinding.objects.filter(pk=finding.pk).update(status="resolved", resolved_at=now)
    services.evaluate_report(report_id=later.pk)
    resolved = Delivery.objects.get(report_id=later.pk)
    assert resolved.channel_name == "told"
    assert list(resolved.items.values_list("event", "finding_id")) == [("resolved", finding.pk)]


def test_escalation_notifies_once_when_severity_rises(tenant_a, in_tenant):
    in_tenant(tenant_a)
    rule([channel("slack", "https://8.8.8.8/x")], min_severity="low")
    report, [finding] = make_report_with([{"severity": "medium"}])
    services.evaluate_report(report_id=report.pk)
    now = timezone.now()
    later = DriftReport.objects.create(started_at=now, finished_at=now)
    DriftFinding.objects.filter(pk=finding.pk).update(severity="critical", last_report=later)
    PathActivity.objects.create(
        resource_id=finding.resource_id, path=finding.path, report_ids=[report.pk, later.pk]
    )
    services.evaluate_report(report_id=later.pk)
    services.evaluate_report(report_id=later.pk)  # a redelivered task adds nothing
    escalated = DeliveryItem.objects.filter(event="escalated")
    assert [(i.finding_id, i.severity) for i in escalated] == [(finding.pk, "critical")]


def test_min_severity_and_resource_type_globs_filter(tenant_a, in_tenant):
    in_tenant(tenant_a)
    rule(
        [channel("slack", "https://8.8.8.8/x")],
        min_severity="high",
        resource_types=["microsoft.network/*"],
    )
    report, rows = make_report_with(
        [
            {"severity": "critical"},
            {"severity": "low"},
            {"severity": "critical", "resource_type": "microsoft.storage/storageaccounts"},
        ]
    )
    services.evaluate_report(report_id=report.pk)
    assert list(DeliveryItem.objects.values_list("finding_id", flat=True)) == [rows[0].pk]


def test_a_snoozed_finding_stays_quiet_and_a_snoozed_rule_is_recorded_as_suppressed(
    tenant_a, in_tenant
):
    in_tenant(tenant_a)
    on_call = rule([channel("slack", "https://8.8.8.8/x")])
    report, (loud, quiet) = make_report_with([{}, {}])
    services.snooze(
        finding_id=quiet.pk,
        until=timezone.now() + timedelta(hours=2),
        reason="maintenance",
        actor="t",
    )
    services.evaluate_report(report_id=report.pk)
    delivery = Delivery.objects.get()
    assert list(delivery.items.values_list("finding_id", flat=True)) == [loud.pk]

    services.snooze(
        rule_id=on_call.pk, until=timezone.now() + timedelta(hours=1), reason="migration", actor="t"
    )
    report2, _ = make_report_with([{"path": "properties.other"}])
    assert services.evaluate_report(report_id=report2.pk) == []
    suppressed = Delivery.objects.get(report_id=report2.pk)
    assert suppressed.status == "suppressed" and suppressed.next_attempt_at is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"until_delta": timedelta(days=400)}, "until"),
        ({"until_delta": -timedelta(minutes=1)}, "until"),
        ({"reason": " "}, "reason"),
    ],
)
def test_snoozes_are_time_boxed_and_need_a_reason(tenant_a, in_tenant, kwargs, field):
    in_tenant(tenant_a)
    _, [finding] = make_report_with([{}])
    with pytest.raises(ValidationError) as err:
        services.snooze(
            finding_id=finding.pk,
            until=timezone.now() + kwargs.get("until_delta", timedelta(hours=1)),
            reason=kwargs.get("reason", "why"),
            actor="t",
        )
    assert field in err.value.message_dict


def test_quiet_hours_hold_a_message_but_critical_bypasses(tenant_a, in_tenant):
    in_tenant(tenant_a)
    now = timezone.now()
    start = (now - timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    rule(
        [channel("slack", "https://8.8.8.8/x")],
        min_severity="low",
        quiet_start=start,
        quiet_end=end,
        timezone_name="UTC",
    )
    report, _ = make_report_with([{"severity": "high"}])
    assert services.evaluate_report(report_id=report.pk) == []
    held = Delivery.objects.get()
    assert held.status == "pending" and held.next_attempt_at > now + timedelta(minutes=60)
    report2, _ = make_report_with([{"severity": "critical", "path": "properties.x"}])
    assert len(services.evaluate_report(report_id=report2.pk)) == 1


def test_a_daily_digest_collects_passes_into_one_delivery(tenant_a, in_tenant):
    in_tenant(tenant_a)
    rule(
        [channel("slack", "https://8.8.8.8/x")],
        mode="daily",
        digest_time=time(8, 0),
        timezone_name="Europe/Berlin",
    )
    for path in ("properties.a", "properties.b"):
        report, _ = make_report_with([{"path": path}])
        assert services.evaluate_report(report_id=report.pk) == []
    digest = Delivery.objects.get()
    assert digest.items.count() == 2 and digest.payload["total"] == 2
    local = digest.next_attempt_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (8, 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_severity": "severe"}, "min_severity"),
        ({"events": ["opened", "exploded"]}, "events"),
        ({"events": []}, "events"),
        ({"mode": "weekly"}, "mode"),
        ({"timezone_name": "Mars/Olympus"}, "timezone"),
        ({"resource_types": [""]}, "resource_types"),
    ],
)
def test_a_rule_with_unknown_values_is_refused_with_a_field_error(
    tenant_a, in_tenant, kwargs, field
):
    in_tenant(tenant_a)
    with pytest.raises(ValidationError) as err:
        services.create_rule(name="bad", actor="t", channels=[], **kwargs)
    assert field in err.value.message_dict
    assert not NotificationRule.objects.filter(name="bad").exists()


def test_a_pass_without_changes_or_rules_creates_nothing(tenant_a, in_tenant):
    in_tenant(tenant_a)
    report, _ = make_report_with([{}])
    assert services.evaluate_report(report_id=report.pk) == []
    assert not Delivery.objects.exists()


def test_poll_failing_fires_once_at_n_failed_passes(tenant_a, in_tenant):
    from configurations.models import PollRun

    in_tenant(tenant_a)
    rule([channel("slack", "https://8.8.8.8/x")], events=["poll_failing"], poll_failing_passes=2)
    runs = []
    for i in range(3):
        runs.append(
            PollRun.objects.create(
                status="failed",
                trigger="test",
                error=f"token refused {i}",
                started_at=timezone.now(),
            )
        )
        services.evaluate_poll_run(poll_run_id=runs[-1].pk)
    [delivery] = Delivery.objects.all()
    assert delivery.idempotency_key.endswith(
        f"poll{runs[1].pk}.rule{delivery.rule_id}.ch{delivery.channel_id}"
    )
    assert "failed 2 passes in a row" in delivery.payload["notes"][0]
    assert delivery.payload["events"] == {"poll_failing": 1}


def test_the_sweep_requeues_a_report_whose_evaluation_was_lost(
    tenant_a, in_tenant, monkeypatch, django_capture_on_commit_callbacks
):
    from driftdetector.celery import app

    in_tenant(tenant_a)
    rule([channel("slack", "https://8.8.8.8/x")])
    report, _ = make_report_with([{}])
    DriftReport.objects.filter(pk=report.pk).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append((name, kw["kwargs"])))
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_due_deliveries()
    assert ("notifications.tasks.evaluate_report", {"report_id": report.pk}) in sent
    services.evaluate_report(report_id=report.pk)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_due_deliveries()
    assert not [s for s in sent if s[0] == "notifications.tasks.evaluate_report"]
    assert Delivery.objects.count() == 1
