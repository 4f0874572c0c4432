"""Helpers shared by the notification tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from drift.models import DriftFinding, DriftReport
from notifications import services


def channel(kind: str, url: str = "", *, name: str | None = None, **kwargs):
    """A channel created through the service (validated like admin and API input)."""
    if kind == "webhook":
        kwargs.setdefault("secret", services.generate_secret())
    return services.create_channel(
        name=name or f"{kind} channel", kind=kind, url=url, actor="test", **kwargs
    )


def pending_delivery(ch, *, key: str = "k1", payload: dict | None = None):
    """A due delivery on ``ch`` with a one-finding message."""
    from notifications.messages import build_message
    from notifications.models import Delivery

    message = payload or build_message(
        tenant={"id": 1, "slug": "tenant-a", "name": "Tenant A"},
        items=[finding_item()],
        report_id=None,
    )
    return Delivery.objects.create(
        channel=ch,
        channel_name=ch.name,
        idempotency_key=key,
        summary="test",
        payload=message,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )


def finding_item(**overrides):
    item = {
        "finding_id": 1,
        "event": "opened",
        "severity": "critical",
        "resource_id": "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/"
        "networksecuritygroups/nsg-web",
        "resource_type": "microsoft.network/networksecuritygroups",
        "path": "properties.securityRules.ssh.sourceAddressPrefix",
        "before": "10.0.0.0/8",
        "after": "*",
        "changed_by": "mallory@contoso.com",
        "url": "http://x/t/tenant-a/admin/drift/driftfinding/1/change/",
    }
    item.update(overrides)
    return item


def make_report_with(findings_spec, *, report=None):
    """A detection report and findings as a pass would have written them.

    ``findings_spec``: dicts of DriftFinding fields; ``first_seen`` defaults to the
    report's start (opened by it).
    """
    now = timezone.now()
    report = report or DriftReport.objects.create(started_at=now, finished_at=now)
    rows = []
    for i, spec in enumerate(findings_spec):
        values = {
            "resource_id": f"/subscriptions/s/resourcegroups/rg/providers/microsoft.network/"
            f"networksecuritygroups/nsg-{i}",
            "resource_type": "microsoft.network/networksecuritygroups",
            "kind": "modified",
            "path": "properties.securityRules.ssh.access",
            "baseline_value": "Deny",
            "current_value": "Allow",
            "severity": "critical",
            "matched_rule": "test",
            "changed_by": "mallory@contoso.com",
            "first_seen": report.started_at,
            "last_seen": report.started_at,
            "last_report": report,
        }
        values.update(spec)
        rows.append(DriftFinding.objects.create(**values))
    return report, rows
