"""MSP-level rules: defined once in the public schema, evaluated in each scoped tenant's
own evaluation, delivered once per tenant, recorded in the tenant's schema, never shown
to customers."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.utils import timezone

from drift.models import DriftFinding, DriftReport
from notifications import selectors, services
from notifications.models import Delivery
from notifications.msp.models import MspChannel, MspNotificationRule
from tests.notifications.helpers import channel, make_report_with

pytestmark = pytest.mark.django_db

SECRET_PATH = "msp-s3cr3t-path"


def msp_channel(url: str, name: str) -> MspChannel:
    return services.create_channel(
        name=name, kind="webhook", url=url, secret=services.generate_secret(), actor="t", msp=True
    )


def msp_rule(channels, *, name: str, tenants=(), all_tenants: bool = True):
    return services.create_rule(
        name=name,
        actor="t",
        channels=channels,
        min_severity="medium",
        msp=True,
        all_tenants=all_tenants,
        tenants=tenants,
    )


def drift_and_send(tenant) -> list[Delivery]:
    """One detection pass with one critical finding in ``tenant``, evaluated (twice, as a
    redelivered task would) and sent; returns the tenant's deliveries."""
    connection.set_tenant(tenant)
    try:
        report, _ = make_report_with([{}])
        queued = services.evaluate_report(report_id=report.pk)
        assert services.evaluate_report(report_id=report.pk) == []
        for delivery_id in queued:
            services.attempt_delivery(delivery_id=delivery_id)
        return list(Delivery.objects.order_by("channel_name"))
    finally:
        connection.set_schema_to_public()


def received(inbox, path: str) -> list[dict]:
    return [m for m in inbox.inbox.of_kind("webhook") if m["path"] == path]


def test_scoped_msp_rule_notifies_its_tenant_only_and_all_tenants_rule_both_once(
    tenant_a, tenant_b, inbox
):
    only_a = msp_channel(f"{inbox.url}/only-a", "msp only a")
    fleet = msp_channel(f"{inbox.url}/fleet", "msp fleet")
    msp_rule([only_a], name="A's on call", all_tenants=False, tenants=[tenant_a])
    msp_rule([fleet], name="fleet on call")
    connection.set_tenant(tenant_a)
    own = channel("webhook", f"{inbox.url}/own-a", name="own")
    services.create_rule(name="own rule", actor="t", channels=[own], min_severity="medium")
    connection.set_schema_to_public()

    in_a = drift_and_send(tenant_a)
    in_b = drift_and_send(tenant_b)

    assert [d.channel_name for d in in_a] == ["msp fleet", "msp only a", "own"]
    assert [d.channel_name for d in in_b] == ["msp fleet"]
    assert all(d.status == "sent" for d in in_a + in_b)
    assert in_a[0].msp_rule_id and in_a[0].channel_id is None and in_a[2].msp_rule_id is None
    [to_a] = received(inbox, "/only-a")
    assert to_a["body"]["data"]["tenant"]["slug"] == tenant_a.slug
    fleet_messages = received(inbox, "/fleet")
    assert sorted(m["body"]["data"]["tenant"]["slug"] for m in fleet_messages) == sorted(
        [tenant_a.slug, tenant_b.slug]
    )
    assert len(received(inbox, "/own-a")) == 1
    assert inbox.inbox.redeliveries() == 0


def test_msp_resolved_goes_to_the_msp_channel_that_got_the_opened(tenant_a, in_tenant):
    """Routing keys of MSP and tenant rules never mix: a tenant channel with the same id
    as the late MSP channel does not count as told."""
    told = services.create_channel(
        name="told", kind="slack", url="https://8.8.8.8/told", actor="t", msp=True
    )
    late = services.create_channel(
        name="late", kind="slack", url="https://8.8.8.8/late", actor="t", msp=True
    )
    fleet = msp_rule([told], name="fleet")
    in_tenant(tenant_a)
    own = channel("slack", "https://8.8.8.8/own", name="own")
    report, [finding] = make_report_with([{}])
    services.evaluate_report(report_id=report.pk)
    fleet.channels.add(late)
    services.create_rule(name="own", actor="t", channels=[own], min_severity="medium")
    now = timezone.now()
    later = DriftReport.objects.create(started_at=now, finished_at=now)
    DriftFinding.objects.filter(pk=finding.pk).update(status="resolved", resolved_at=now)
    services.evaluate_report(report_id=later.pk)
    resolved = Delivery.objects.get(report_id=later.pk)
    assert resolved.channel_name == "told" and resolved.msp_channel_id == told.pk
    assert list(resolved.items.values_list("event", "finding_id")) == [("resolved", finding.pk)]


def test_a_scoped_rule_needs_its_tenants_and_msp_channels():
    hook = MspChannel.objects.create(name="x", kind="email", addresses=["a@example.com"])
    with pytest.raises(services.ValidationError) as exc:
        msp_rule([hook], name="r", all_tenants=False)
    assert "tenants" in exc.value.message_dict
    assert not MspNotificationRule.objects.exists()


def test_disabled_msp_rules_and_other_tenants_rules_do_not_apply(tenant_a, tenant_b, inbox):
    only_b = msp_channel(f"{inbox.url}/only-b", "msp only b")
    msp_rule([only_b], name="B's", all_tenants=False, tenants=[tenant_b])
    off = msp_rule([only_b], name="off")
    off.enabled = False
    off.save()
    assert drift_and_send(tenant_a) == []


def test_msp_api_and_admin_are_msp_only_and_never_show_urls(
    tenant_a, inbox, msp_admin, msp_engineer, customer_a, client_for
):
    hook = msp_channel(f"{inbox.url}/{SECRET_PATH}", "msp fleet")
    rule = msp_rule([hook], name="fleet on call")
    drift_and_send(tenant_a)
    urls = [
        "/api/v1/notifications/channels/",
        f"/api/v1/notifications/channels/{hook.pk}/",
        "/api/v1/notifications/rules/",
        f"/api/v1/notifications/rules/{rule.pk}/",
        f"/api/v1/notifications/deliveries/?tenant={tenant_a.slug}",
        "/admin/msp_notifications/mspchannel/",
        f"/admin/msp_notifications/mspchannel/{hook.pk}/change/",
        "/admin/msp_notifications/mspnotificationrule/",
        f"/admin/msp_notifications/mspnotificationrule/{rule.pk}/change/",
    ]
    staff, customer = client_for(msp_engineer), client_for(customer_a)
    for url in urls:
        ok = staff.get(url)
        assert ok.status_code == 200, url
        assert SECRET_PATH not in ok.content.decode() and hook.secret not in ok.content.decode()
        refused = customer.get(url, follow=True)
        assert refused.status_code in (403, 404), url
        assert "msp fleet" not in refused.content.decode(), url

    [row] = staff.get(urls[4]).json()
    assert row["channel_name"] == "msp fleet" and row["status"] == "sent"
    assert row["msp_rule_id"] == rule.pk and row["tenant"]["slug"] == tenant_a.slug
    assert staff.get("/api/v1/notifications/deliveries/").status_code == 400
    assert staff.get("/api/v1/notifications/deliveries/?tenant=nope").status_code == 404

    # The tenant API leaves MSP deliveries out for anyone but MSP staff.
    connection.set_tenant(tenant_a)
    try:
        assert not selectors.deliveries().exists()
        assert selectors.deliveries(with_msp=True).count() == 1
    finally:
        connection.set_schema_to_public()
    tenant_list = staff.get(f"/t/{tenant_a.slug}/api/v1/notifications/deliveries/").json()
    assert [d["channel_name"] for d in tenant_list["results"]] == ["msp fleet"]


def test_msp_api_creates_channels_write_only_and_rejects_bad_scope(
    tenant_a, inbox, msp_engineer, client_for
):
    client = client_for(msp_engineer)
    created = client.post(
        "/api/v1/notifications/channels/",
        json.dumps(
            {
                "name": "oncall",
                "kind": "webhook",
                "url": f"{inbox.url}/{SECRET_PATH}",
                "secret": services.generate_secret(),
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert SECRET_PATH not in created.content.decode() and created.json()["has_url"] is True
    stored = MspChannel.objects.get(name="oncall")
    assert stored.url.endswith(SECRET_PATH)
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM msp_notifications_mspchannel WHERE id = %s", [stored.pk])
        assert SECRET_PATH not in cursor.fetchone()[0], "URL stored encrypted"

    private = client.post(
        "/api/v1/notifications/channels/",
        json.dumps({"name": "p", "kind": "slack", "url": "https://10.0.0.1/hook"}),
        content_type="application/json",
    )
    assert private.status_code == 400 and "url" in private.json()["errors"]

    def rule(**extra):
        body = {"name": "r", "min_severity": "high", "channels": [stored.pk], **extra}
        return client.post(
            "/api/v1/notifications/rules/", json.dumps(body), content_type="application/json"
        )

    assert rule(all_tenants=False).status_code == 400
    assert rule(min_severity="urgent").status_code == 400
    assert MspNotificationRule.objects.count() == 0
    ok = rule(all_tenants=False, tenants=[tenant_a.pk])
    assert ok.status_code == 201, ok.content
    assert list(MspNotificationRule.objects.get().tenants.all()) == [tenant_a]
