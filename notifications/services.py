"""Notification writes (connection already in the tenant schema).

Channels and rules are validated here (admin, API and setup_demo all come through).
``evaluate_report`` turns the state changes of one detection pass into one Delivery per
rule x channel (the group), skipping persisting findings, routing "resolved" to the
channels that got the "opened", and recording snoozed groups as suppressed.
``attempt_delivery`` claims a due delivery (a lease on next_attempt_at, so a second
worker or the sweep leaves it alone), sends it, and records the attempt: sent, a retry
with backoff and jitter, or dead. The idempotency key is the webhook-id / Message-ID,
stable across retries, so a resend after a killed worker is a duplicate a receiver drops.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from auditlog.services import record_platform_event
from configurations.selectors import poll_runs
from drift.choices import SEVERITIES, stored_severity_rank
from drift.models import DriftFinding
from drift.selectors import (
    expired_exception_paths,
    findings_changed_by_report,
    reports_finished_between,
)
from driftdetector import metrics
from driftdetector.pipeline import enqueue
from notifications import messages, ssrf, transports
from notifications.choices import OUTSTANDING, ChannelKind, DeliveryStatus, Event, Mode
from notifications.models import (
    Channel,
    ChannelBase,
    Delivery,
    DeliveryAttempt,
    DeliveryItem,
    EvaluatedReport,
    NotificationRule,
    RuleBase,
    Snooze,
)
from notifications.msp.models import MspChannel, MspNotificationRule
from notifications.rules import Timing, send_at, type_matches
from tenants.models import Tenant

logger = logging.getLogger(__name__)

SEND_TASK = "notifications.tasks.send_delivery"
RETIRED_TEAMS_HOST = "webhook.office.com"
MAX_SNOOZE = timedelta(days=90)
ROTATION_OVERLAP = timedelta(hours=24)
#: Deliveries that count as "this channel was told" for escalation and resolved routing.
TOLD = (DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def _tenant() -> Tenant:
    return Tenant.objects.get(schema_name=connection.schema_name)


def _audit(*, actor: str, action: str, resource: str, status: str = "success", **data: Any):
    record_platform_event(
        actor=actor, action=action, resource=resource, status=status, log_data=data
    )


# --- Channels --------------------------------------------------------------------------


def generate_secret() -> str:
    """A new Standard Webhooks signing secret (``whsec_`` + 32 random bytes, base64)."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def _check_secret(secret: str) -> None:
    if not secret.startswith("whsec_"):
        raise ValidationError({"secret": "a signing secret starts with whsec_"})
    try:
        raw = base64.b64decode(secret[len("whsec_") :], validate=True)
    except ValueError:
        raise ValidationError({"secret": "the part after whsec_ must be base64"}) from None
    if not 24 <= len(raw) <= 64:
        raise ValidationError({"secret": "the secret must hold 24 to 64 bytes"})


def _check_routing_key(key: str) -> None:
    if not key:
        raise ValidationError(
            {
                "secret": "give the PagerDuty integration (routing) key of an Events API v2 "
                "integration"
            }
        )
    if len(key) != 32 or not key.isalnum():
        raise ValidationError({"secret": "a PagerDuty routing key is 32 letters and digits"})


def validate_channel(*, kind: str, url: str = "", addresses: Sequence[str] = ()) -> None:
    """Raise ValidationError (per field) unless the channel can be sent to.

    Email needs at least one valid address; Teams refuses the retired Office 365
    connector URLs; every URL passes the SSRF guard now (and again at each send).
    """
    if kind not in ChannelKind.values:
        raise ValidationError({"kind": f"unknown channel kind {kind!r}"})
    if kind == ChannelKind.EMAIL:
        if not addresses:
            raise ValidationError({"addresses": "give at least one email address"})
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError({"addresses": f"not valid email addresses: {', '.join(bad)}"})
        return
    if not url:
        raise ValidationError({"url": "give the URL to post to"})
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        raise ValidationError({"url": "not a valid URL"}) from None
    if kind == ChannelKind.TEAMS and (
        host == RETIRED_TEAMS_HOST or host.endswith("." + RETIRED_TEAMS_HOST)
    ):
        raise ValidationError(
            {
                "url": "Office 365 connector URLs (webhook.office.com) are retired. In Teams, "
                'create a Workflows flow "When a Teams webhook request is received" and '
                "paste its URL (…logic.azure.com/workflows/… or …api.powerplatform.com)."
            }
        )
    try:
        ssrf.check_url(url, allow=transports.allow_list())
    except ssrf.UnsafeURL as exc:
        raise ValidationError({"url": str(exc)}) from None


def create_channel(
    *,
    name: str,
    kind: str,
    actor: str,
    url: str = "",
    addresses: Sequence[str] = (),
    secret: str = "",
    msp: bool = False,
) -> ChannelBase:
    """Create a validated channel (a webhook needs its ``whsec_`` signing secret); with
    ``msp`` an MSP channel in the public schema."""
    addresses = [a.strip() for a in addresses if a.strip()]
    if kind == ChannelKind.PAGERDUTY:
        url = url or settings.NOTIFY_PAGERDUTY_EVENTS_URL
        _check_routing_key(secret)
    validate_channel(kind=kind, url=url, addresses=addresses)
    if kind == ChannelKind.WEBHOOK:
        if not secret:
            raise ValidationError(
                {"secret": "give a signing secret: whsec_ + base64 of 24-64 random bytes"}
            )
        _check_secret(secret)
    elif secret and kind != ChannelKind.PAGERDUTY:
        raise ValidationError({"secret": "only webhook channels are signed"})
    model = MspChannel if msp else Channel
    channel = model(name=name, kind=kind, url=url, addresses=addresses, secret=secret)
    channel.full_clean(exclude=["url", "secret", "previous_secret"])
    channel.save()
    _audit(actor=actor, action="notification_channel_created", resource=_label(channel))
    return channel


def _label(channel: ChannelBase) -> str:
    return f"{'MSP ' if channel.is_msp else ''}channel {channel.name}"


def update_channel(
    *,
    channel: ChannelBase,
    actor: str,
    name: str | None = None,
    url: str = "",
    addresses: Sequence[str] | None = None,
    secret: str = "",
    enabled: bool | None = None,
) -> ChannelBase:
    """Change a channel; a blank URL or secret keeps the stored one (they are write-only).

    A new secret keeps the old one valid for a day (both signatures are sent); enabling
    a disabled channel clears its failure count.
    """
    if addresses is not None:
        channel.addresses = [a.strip() for a in addresses if a.strip()]
    if url:
        channel.url = url
    validate_channel(kind=channel.kind, url=channel.url, addresses=channel.addresses)
    if secret and channel.kind == ChannelKind.PAGERDUTY:
        _check_routing_key(secret)
        channel.secret = secret
    elif secret:
        _check_secret(secret)
        if secret != channel.secret:
            channel.previous_secret = channel.secret
            channel.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
            channel.secret = secret
    if name:
        channel.name = name
    if enabled is not None and enabled != channel.enabled:
        channel.enabled = enabled
        if enabled:
            channel.disabled_reason = ""
            channel.consecutive_failures = 0
        else:
            channel.disabled_reason = f"disabled by {actor}"
    channel.save()
    _audit(actor=actor, action="notification_channel_changed", resource=_label(channel))
    if enabled is not None and not channel.is_msp:
        _record_channel_health()
    return channel


def rotate_secret(*, channel: ChannelBase, actor: str, secret: str) -> ChannelBase:
    """Give a webhook channel a new secret; the old one stays valid (and signed with) for a day."""
    if channel.kind != ChannelKind.WEBHOOK:
        raise ValidationError({"secret": "only webhook channels are signed"})
    if not secret:
        raise ValidationError({"secret": "give the new secret"})
    return update_channel(channel=channel, actor=actor, secret=secret)


def delete_channel(*, channel: ChannelBase, actor: str) -> None:
    """Delete a channel; its deliveries stay on record and pending ones end as dead (those
    of an MSP channel, spread over the tenants, at their next attempt)."""
    label = _label(channel)
    if channel.is_msp:
        channel.delete()
        _audit(actor=actor, action="notification_channel_deleted", resource=label)
        return
    with transaction.atomic():
        Delivery.objects.filter(channel=channel, status__in=OUTSTANDING).update(
            status=DeliveryStatus.DEAD, next_attempt_at=None, last_error="channel deleted"
        )
        channel.delete()
    _audit(actor=actor, action="notification_channel_deleted", resource=label)
    _record_channel_health()


def _disable_channel(channel: ChannelBase, reason: str) -> None:
    type(channel).objects.filter(pk=channel.pk).update(enabled=False, disabled_reason=reason)
    channel.enabled, channel.disabled_reason = False, reason
    logger.warning("notification channel %s disabled: %s", channel.name, reason)
    metrics.channel_disabled(channel.kind)
    _audit(
        actor="notifications",
        action="notification_channel_disabled",
        resource=_label(channel),
        status="failure",
        reason=reason,
    )
    if not channel.is_msp:
        _record_channel_health()


def _record_channel_health() -> None:
    """Copy the disabled channels of this tenant to the fleet page's TenantStatus."""
    from tenants.models import TenantStatus

    tenant = _tenant()
    failing = list(Channel.objects.filter(enabled=False).values_list("name", flat=True))
    if not TenantStatus.objects.filter(tenant=tenant).update(failing_channels=failing):
        TenantStatus.objects.get_or_create(tenant=tenant, defaults={"failing_channels": failing})


# --- Rules and snoozes ----------------------------------------------------------------


def validate_rule(
    *,
    min_severity: str,
    events: Sequence[str],
    mode: str,
    timezone_name: str,
    resource_types: Sequence[str],
) -> None:
    """Raise ValidationError (per field) for an unknown severity, event, mode or time zone."""
    errors: dict[str, str] = {}
    if min_severity not in SEVERITIES:
        errors["min_severity"] = (
            f"unknown severity {min_severity!r}; use one of {', '.join(SEVERITIES)}"
        )
    unknown = [e for e in events if e not in Event.values]
    if unknown or not events:
        errors["events"] = (
            f"unknown events {unknown}; use {', '.join(Event.values)}"
            if unknown
            else "choose at least one event"
        )
    if mode not in Mode.values:
        errors["mode"] = f"unknown mode {mode!r}; use {', '.join(Mode.values)}"
    try:
        zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"unknown time zone {timezone_name!r} (use an IANA name)"
    if any(not isinstance(g, str) or not g.strip() for g in resource_types):
        errors["resource_types"] = "resource types are non-empty glob strings"
    if errors:
        raise ValidationError(errors)


def create_rule(
    *,
    name: str,
    actor: str,
    channels: Iterable[ChannelBase],
    min_severity: str = "high",
    events: Sequence[str] | None = None,
    resource_types: Sequence[str] = (),
    mode: str = Mode.IMMEDIATE,
    timezone_name: str = "UTC",
    digest_time: time | None = None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    critical_bypasses_quiet_hours: bool = True,
    poll_failing_passes: int = 3,
    msp: bool = False,
    all_tenants: bool = True,
    tenants: Iterable[Tenant] = (),
) -> RuleBase:
    """Create a validated rule sending to ``channels``. With ``msp``, an MSP rule (public
    schema, MSP channels) for every customer tenant or, without ``all_tenants``, for the
    chosen ``tenants``."""
    events = list(events) if events is not None else [str(e) for e in Event if e != "poll_failing"]
    validate_rule(
        min_severity=min_severity,
        events=events,
        mode=mode,
        timezone_name=timezone_name,
        resource_types=resource_types,
    )
    channels = list(channels)
    tenants = list(tenants)
    if msp and not all_tenants and not tenants:
        raise ValidationError({"tenants": "choose the tenants, or apply the rule to all"})
    if any(c.is_msp != msp for c in channels):
        raise ValidationError(
            {"channels": "MSP rules send to MSP channels, tenant rules to the tenant's"}
        )
    extra: dict[str, Any] = {"all_tenants": all_tenants} if msp else {}
    rule = (MspNotificationRule if msp else NotificationRule).objects.create(
        **extra,
        name=name,
        min_severity=min_severity,
        events=events,
        resource_types=list(resource_types),
        mode=mode,
        timezone=timezone_name,
        digest_time=digest_time,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        critical_bypasses_quiet_hours=critical_bypasses_quiet_hours,
        poll_failing_passes=poll_failing_passes,
    )
    rule.channels.set(channels)
    if msp:
        rule.tenants.set([] if all_tenants else tenants)
    label = f"{'MSP ' if msp else ''}rule {name}"
    _audit(actor=actor, action="notification_rule_created", resource=label)
    return rule


def audit_rule_saved(*, rule: RuleBase, actor: str, created: bool) -> None:
    """Record in the audit log that a rule was created or changed (admin forms save rules)."""
    action = "notification_rule_created" if created else "notification_rule_changed"
    _audit(actor=actor, action=action, resource=f"{'MSP ' if rule.is_msp else ''}rule {rule.name}")


def validate_snooze(
    *,
    until: datetime | None,
    reason: str,
    finding_id: int | None = None,
    rule_id: int | None = None,
) -> None:
    """Raise ValidationError (per field) unless this is a valid snooze: on exactly one
    finding or rule, ending in the future within 90 days, with a reason."""
    now = timezone.now()
    errors: dict[str, str] = {}
    if (finding_id is None) == (rule_id is None):
        errors["finding"] = "snooze either a finding or a rule"
    if until is None or until <= now:
        errors["until"] = "a snooze ends in the future"
    elif until - now > MAX_SNOOZE:
        errors["until"] = "a snooze lasts at most 90 days (there is no permanent mute)"
    if not reason.strip():
        errors["reason"] = "say why"
    if finding_id is not None and not DriftFinding.objects.filter(pk=finding_id).exists():
        errors["finding"] = f"no finding {finding_id}"
    if rule_id is not None and not NotificationRule.objects.filter(pk=rule_id).exists():
        errors["rule"] = f"no rule {rule_id}"
    if errors:
        raise ValidationError(errors)


def snooze(
    *,
    actor: str,
    until: datetime,
    reason: str,
    finding_id: int | None = None,
    rule_id: int | None = None,
) -> Snooze:
    """Silence one finding or one rule until ``until`` (at most 90 days; a reason is required)."""
    validate_snooze(until=until, reason=reason, finding_id=finding_id, rule_id=rule_id)
    row = Snooze.objects.create(
        finding_id=finding_id, rule_id=rule_id, until=until, reason=reason, created_by=actor
    )
    _audit(actor=actor, action="notification_snoozed", resource=str(row), reason=reason)
    return row


# --- Evaluation: state changes -> grouped deliveries -------------------------------------


def _finding_url(tenant: Tenant, finding_id: int) -> str:
    path = reverse(
        "tenant_admin:drift_driftfinding_change",
        args=[finding_id],
        urlconf="driftdetector.urls_tenant",
    )
    return f"{settings.NOTIFY_BASE_URL.rstrip('/')}/t/{tenant.slug}{path}"


def _item(tenant: Tenant, finding: DriftFinding, event: str) -> dict[str, Any]:
    before, after = finding.baseline_value, finding.current_value
    if event == Event.RESOLVED:
        before, after = after, before
    return {
        "finding_id": finding.pk,
        "event": event,
        "severity": finding.severity,
        "resource_id": finding.resource_id,
        "resource_type": finding.resource_type,
        "path": finding.path,
        "before": before,
        "after": after,
        "changed_by": finding.changed_by,
        "url": _finding_url(tenant, finding.pk),
    }


def _tenant_facts(tenant: Tenant) -> dict[str, Any]:
    return {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name}


def _rules(tenant: Tenant) -> list[RuleBase]:
    """The enabled rules that apply to this tenant: its own, and the MSP's that scope it
    (all tenants, or chosen ones including this one)."""
    own = list(NotificationRule.objects.filter(enabled=True).prefetch_related("channels"))
    msp = list(
        MspNotificationRule.objects.filter(enabled=True)
        .filter(Q(all_tenants=True) | Q(tenants=tenant))
        .distinct()
        .prefetch_related("channels")
    )
    return own + msp


def _route(rule: RuleBase, channel: ChannelBase) -> tuple[str, int, int]:
    """Which rule and channel a delivery went by; MSP and tenant ids never mix."""
    return ("msp" if rule.is_msp else "own", rule.pk, channel.pk)


def _refs(rule: RuleBase, channel: ChannelBase) -> dict[str, Any]:
    """The Delivery fields naming its rule and channel."""
    if rule.is_msp:
        return {"msp_rule_id": rule.pk, "msp_channel_id": channel.pk}
    return {"rule": rule, "channel": channel}


def _timing(rule: RuleBase) -> Timing:
    return Timing(
        mode=rule.mode,
        timezone=rule.timezone,
        digest_time=rule.digest_time,
        quiet_start=rule.quiet_start,
        quiet_end=rule.quiet_end,
        critical_bypasses_quiet_hours=rule.critical_bypasses_quiet_hours,
    )


def _told(finding_ids: list[int]) -> tuple[dict[tuple, int], set[tuple]]:
    """Per (finding, *route): the highest severity rank told; and those told resolved."""
    told: dict[tuple, int] = {}
    resolved: set[tuple] = set()
    rows = DeliveryItem.objects.filter(
        finding_id__in=finding_ids, delivery__status__in=TOLD
    ).values_list(
        "finding_id",
        "event",
        "severity",
        "delivery__rule_id",
        "delivery__channel_id",
        "delivery__msp_rule_id",
        "delivery__msp_channel_id",
    )
    for finding_id, event, severity, rule_id, channel_id, msp_rule_id, msp_channel_id in rows:
        if msp_rule_id is not None:
            key = (finding_id, "msp", msp_rule_id, msp_channel_id)
        else:
            key = (finding_id, "own", rule_id, channel_id)
        if event == Event.RESOLVED:
            resolved.add(key)
        else:
            told[key] = max(told.get(key, -1), stored_severity_rank(severity))
    return told, resolved


def evaluate_report(*, report_id: int) -> list[int]:
    """Create the deliveries for one detection pass; returns the ids queued to send now.

    Idempotent: a redelivered task finds the deliveries by their keys and adds nothing.
    """
    tenant = _tenant()
    if EvaluatedReport.objects.filter(report_id=report_id).exists():
        return []
    changes = findings_changed_by_report(report_id)
    rules = _rules(tenant)
    if not rules or not any(changes.values()):
        EvaluatedReport.objects.get_or_create(report_id=report_id)
        return []
    now = timezone.now()
    opened = changes["opened"]
    expired = expired_exception_paths(opened, at=now)
    told, told_resolved = _told([f.pk for f in changes["changed"] + changes["resolved"]])
    groups: dict[tuple[RuleBase, ChannelBase], list[dict[str, Any]]] = defaultdict(list)
    for rule in rules:
        floor = stored_severity_rank(rule.min_severity)
        channels = list(rule.channels.all())

        def wanted(f: DriftFinding, rule: RuleBase = rule, floor: int = floor) -> bool:
            return stored_severity_rank(f.severity) >= floor and type_matches(
                f.resource_type, rule.resource_types
            )

        for finding in opened:
            event = (
                Event.EXCEPTION_EXPIRED
                if (finding.resource_id, finding.path) in expired
                else Event.OPENED
            )
            if event in rule.events and wanted(finding):
                for channel in channels:
                    groups[(rule, channel)].append(_item(tenant, finding, event))
        for finding in changes["changed"]:
            if Event.ESCALATED not in rule.events or not wanted(finding):
                continue
            for channel in channels:
                before = told.get((finding.pk, *_route(rule, channel)), -1)
                if stored_severity_rank(finding.severity) > before:
                    groups[(rule, channel)].append(_item(tenant, finding, Event.ESCALATED))
        if Event.RESOLVED in rule.events:
            for finding in changes["resolved"]:
                for channel in channels:
                    key = (finding.pk, *_route(rule, channel))
                    if key in told and key not in told_resolved:
                        groups[(rule, channel)].append(_item(tenant, finding, Event.RESOLVED))
    with transaction.atomic():
        EvaluatedReport.objects.get_or_create(report_id=report_id)
        return _create_deliveries(
            tenant, groups, report_id=report_id, now=now, key=f"report{report_id}"
        )


def evaluate_poll_run(*, poll_run_id: int) -> list[int]:
    """Tell rules with the poll_failing event when polling has just failed N passes in a row."""
    tenant = _tenant()
    rules = [r for r in _rules(tenant) if Event.POLL_FAILING in r.events]
    if not rules:
        return []
    depth = max(r.poll_failing_passes for r in rules) + 1
    # Full passes only: the change watch's runs say nothing about collection failing.
    recent = list(poll_runs().filter(pk__lte=poll_run_id).exclude(trigger="watch")[:depth])
    if not recent or recent[0].pk != poll_run_id:
        return []
    failed = 0
    for run in recent:
        if run.status != "failed":
            break
        failed += 1
    groups: dict[tuple[RuleBase, ChannelBase], list[dict[str, Any]]] = {}
    note = f"Polling of {tenant.slug} failed {failed} passes in a row; last error: " + (
        recent[0].error or "(none recorded)"
    )
    for rule in rules:
        if failed == rule.poll_failing_passes:
            for channel in rule.channels.all():
                groups[(rule, channel)] = []
    return _create_deliveries(
        tenant,
        groups,
        report_id=None,
        now=timezone.now(),
        key=f"poll{poll_run_id}",
        notes=[note],
        events={Event.POLL_FAILING: 1},
    )


def _create_deliveries(
    tenant: Tenant,
    groups: dict[tuple[RuleBase, ChannelBase], list[dict[str, Any]]],
    *,
    report_id: int | None,
    now: datetime,
    key: str,
    notes: list[str] | None = None,
    events: dict[str, int] | None = None,
) -> list[int]:
    snoozed_rules = set(
        Snooze.objects.filter(rule__isnull=False, until__gt=now).values_list("rule_id", flat=True)
    )
    snoozed_findings = set(
        Snooze.objects.filter(finding__isnull=False, until__gt=now).values_list(
            "finding_id", flat=True
        )
    )
    send_now: list[int] = []
    with transaction.atomic():
        for (rule, channel), items in groups.items():
            quiet = [i for i in items if i["finding_id"] in snoozed_findings]
            loud = [i for i in items if i["finding_id"] not in snoozed_findings]
            rule_snoozed = not rule.is_msp and rule.pk in snoozed_rules
            suppressed = rule_snoozed or (items and not loud)
            kept = items if suppressed else loud
            message = messages.build_message(
                tenant=_tenant_facts(tenant),
                items=kept,
                report_id=report_id,
                notes=notes,
                events=events,
            )
            if channel.kind == ChannelKind.PAGERDUTY:
                message["pagerduty_resolve"] = _pagerduty_resolves(rule, channel, kept)
            has_critical = any(i["severity"] == "critical" for i in kept) or bool(notes)
            when = now if suppressed else send_at(_timing(rule), now, has_critical=has_critical)
            digest = rule.mode != Mode.IMMEDIATE and not suppressed
            route = (
                f"msprule{rule.pk}.mspch{channel.pk}"
                if rule.is_msp
                else f"rule{rule.pk}.ch{channel.pk}"
            )
            idem = f"{tenant.schema_name}.{key}.{route}"
            if digest:
                existing = _open_digest(rule, channel, when)
                if existing is not None:
                    _merge(existing, kept, tenant)
                    continue
                idem = f"{tenant.schema_name}.digest.{route}.{when:%Y%m%dT%H%M%z}"
            delivery, created = Delivery.objects.get_or_create(
                idempotency_key=idem,
                defaults={
                    **_refs(rule, channel),
                    "channel_name": channel.name,
                    "report_id": report_id,
                    "status": DeliveryStatus.SUPPRESSED if suppressed else DeliveryStatus.PENDING,
                    "summary": messages.title(message)[:300],
                    "payload": message,
                    "next_attempt_at": None if suppressed else when,
                    "last_error": "snoozed" if suppressed else "",
                },
            )
            if not created:
                continue
            DeliveryItem.objects.bulk_create(
                DeliveryItem(
                    delivery=delivery,
                    finding_id=i["finding_id"],
                    event=i["event"],
                    severity=i["severity"],
                )
                for i in kept
            )
            if quiet and not suppressed:
                logger.info("%d snoozed findings left out of %s", len(quiet), idem)
            if not suppressed and when <= now:
                send_now.append(delivery.pk)
        for delivery_id in send_now:
            _enqueue_send(delivery_id, delay=0.0, schema_name=tenant.schema_name)
    return send_now


def _pagerduty_resolves(
    rule: RuleBase, channel: ChannelBase, items: list[dict[str, Any]]
) -> list[str]:
    """Dedup keys of the PagerDuty alerts this route triggered whose findings are now all
    resolved (each alert is one delivery: one group of findings)."""
    resolved = {i["finding_id"] for i in items if i["event"] == Event.RESOLVED}
    if not resolved:
        return []
    triggers = (
        Delivery.objects.filter(**_refs(rule, channel), status__in=TOLD)
        .filter(items__finding_id__in=resolved)
        .distinct()
    )
    keys = []
    for delivery in triggers.order_by("pk"):
        told = set(
            delivery.items.exclude(event=Event.RESOLVED).values_list("finding_id", flat=True)
        )
        still_open = told - resolved
        if (
            not told
            or DriftFinding.objects.filter(pk__in=still_open)
            .exclude(status=DriftFinding.Status.RESOLVED)
            .exists()
        ):
            continue
        keys.append(delivery.idempotency_key)
    return keys


def _open_digest(rule: RuleBase, channel: ChannelBase, when: datetime) -> Delivery | None:
    return (
        Delivery.objects.select_for_update()
        .filter(
            **_refs(rule, channel),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=when,
            idempotency_key__contains=".digest.",
        )
        .first()
    )


def _merge(delivery: Delivery, items: list[dict[str, Any]], tenant: Tenant) -> None:
    """Add items to a digest that has not gone out yet and rebuild its message."""
    all_items = [*delivery.payload.get("items", []), *items]
    message = messages.build_message(
        tenant=_tenant_facts(tenant), items=all_items, report_id=delivery.report_id
    )
    delivery.payload = message
    delivery.summary = messages.title(message)[:300]
    delivery.save(update_fields=["payload", "summary"])
    DeliveryItem.objects.bulk_create(
        DeliveryItem(
            delivery=delivery, finding_id=i["finding_id"], event=i["event"], severity=i["severity"]
        )
        for i in items
    )


# --- Sending ---------------------------------------------------------------------------


def _enqueue_send(delivery_id: int, *, delay: float, schema_name: str) -> None:
    Delivery.objects.filter(pk=delivery_id).update(
        enqueued_until=timezone.now() + timedelta(seconds=delay) + _lease()
    )
    enqueue(
        SEND_TASK,
        schema_name=schema_name,
        queue="notify",
        kwargs={"delivery_id": delivery_id},
        countdown=delay or None,
    )


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Delay before try ``attempt + 1``: exponential with equal jitter, at least Retry-After."""
    ceiling = settings.NOTIFY_RETRY_MAX_SECONDS
    delay = min(ceiling, settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, ceiling))
    return delay


def _lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def attempt_delivery(*, delivery_id: int, force: bool = False) -> Delivery | None:
    """Send a due delivery once and record the attempt; None if it is not due or is taken.

    The claim moves next_attempt_at a lease ahead, so a worker killed mid-send leaves a
    row the sweep sends again after the lease (same idempotency key).
    """
    now = timezone.now()
    with transaction.atomic():
        rows = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            pk=delivery_id, status__in=OUTSTANDING
        )
        if not force:
            rows = rows.filter(next_attempt_at__lte=now)
        delivery = rows.select_related("channel").first()
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + _lease()
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    channel = _channel_of(delivery)
    if channel is None:
        outcome = transports.Outcome(success=False, retry=False, error="channel deleted")
    elif not channel.enabled:
        outcome = transports.Outcome(
            success=False, retry=False, error=f"channel disabled: {channel.disabled_reason}"
        )
    else:
        try:
            outcome = transports.send(channel, delivery.payload, delivery.idempotency_key)
        except Exception as exc:
            logger.exception("sending delivery %s failed", delivery.pk)
            outcome = transports.Outcome(
                success=False, retry=True, error=f"{type(exc).__name__}: {exc}"
            )
    _record(delivery, outcome, channel=channel, started=now)
    return delivery


def _channel_of(delivery: Delivery) -> ChannelBase | None:
    """The delivery's channel (the MSP's, in the public schema, for MSP rules); None if
    it was deleted."""
    if delivery.msp_channel_id is not None:
        return MspChannel.objects.filter(pk=delivery.msp_channel_id).first()
    return delivery.channel


def _record(
    delivery: Delivery,
    outcome: transports.Outcome,
    *,
    channel: ChannelBase | None,
    started: datetime,
) -> None:
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            started_at=started,
            latency_ms=outcome.latency_ms,
            http_status=outcome.http_status,
            smtp_reply=outcome.smtp_reply[:300],
            response_snippet=outcome.snippet,
            error=outcome.error[:2000],
            success=outcome.success,
        )
        if outcome.success:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = now
            delivery.next_attempt_at = None
            delivery.last_error = ""
            if channel is not None and channel.consecutive_failures:
                type(channel).objects.filter(pk=channel.pk).update(consecutive_failures=0)
        else:
            delivery.last_error = outcome.error[:2000]
            if channel is not None and channel.enabled:
                type(channel).objects.filter(pk=channel.pk).update(
                    consecutive_failures=F("consecutive_failures") + 1
                )
                channel.refresh_from_db(fields=["consecutive_failures"])
                if outcome.gone:
                    _disable_channel(channel, "the receiver answered 410 Gone")
                elif channel.consecutive_failures >= settings.NOTIFY_DISABLE_AFTER_FAILURES:
                    _disable_channel(
                        channel, f"{channel.consecutive_failures} failed attempts in a row"
                    )
            can_retry = (
                outcome.retry
                and delivery.attempts < settings.NOTIFY_MAX_ATTEMPTS
                and channel is not None
                and channel.enabled
            )
            if can_retry:
                delay = backoff_seconds(delivery.attempts, outcome.retry_after)
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                if delay <= settings.NOTIFY_COUNTDOWN_MAX_SECONDS:
                    _enqueue_send(delivery.pk, delay=delay, schema_name=connection.schema_name)
            else:
                delivery.status = DeliveryStatus.DEAD
                delivery.next_attempt_at = None
        delivery.save(
            update_fields=["status", "sent_at", "next_attempt_at", "last_error", "attempts"]
        )
    metrics.delivery(
        kind=channel.kind if channel is not None else "unknown",
        status=delivery.status,
        latency=(now - delivery.created_at).total_seconds() if outcome.success else None,
    )


def due_delivery_ids(*, limit: int = 1000) -> list[int]:
    """Deliveries whose time has come and that no queued task is about to send."""
    from django.db.models import Q

    now = timezone.now()
    return list(
        Delivery.objects.filter(status__in=OUTSTANDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_until__isnull=True) | Q(enqueued_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def queue_deliveries(delivery_ids: Iterable[int]) -> None:
    """Queue a send task for each of these deliveries of this tenant."""
    for delivery_id in delivery_ids:
        _enqueue_send(delivery_id, delay=0.0, schema_name=connection.schema_name)


def queue_lost_evaluations() -> int:
    """Queue the evaluation of detection reports of this tenant that finished more than a
    lease ago (within the last day) and were never evaluated: their task died with a worker.
    Returns how many were queued."""
    now = timezone.now()
    finished = reports_finished_between(now - timedelta(days=1), now - _lease())
    done = set(
        EvaluatedReport.objects.filter(report_id__in=finished).values_list("report_id", flat=True)
    )
    queued = 0
    for report_id in finished:
        # One queued evaluation per lease, however often the sweep runs (cache.add is atomic).
        marker = f"notify-evaluate:{connection.schema_name}:{report_id}"
        if report_id not in done and cache.add(marker, 1, timeout=_lease().total_seconds()):
            enqueue(
                "notifications.tasks.evaluate_report",
                schema_name=connection.schema_name,
                queue="notify",
                kwargs={"report_id": report_id},
            )
            queued += 1
    return queued


def queue_due_deliveries() -> int:
    """The sweep for this tenant alone: queue its due deliveries and lost evaluations;
    returns how many deliveries were queued."""
    ids = due_delivery_ids()
    queue_deliveries(ids)
    queue_lost_evaluations()
    return len(ids)


def resend(*, delivery: Delivery, actor: str) -> Delivery:
    """Send a delivery again now. A delivery that arrived goes out as a new one (new id, so
    receivers do not drop it as a duplicate); one that never arrived keeps its id."""
    now = timezone.now()
    with transaction.atomic():
        if delivery.status == DeliveryStatus.SENT or delivery.status == DeliveryStatus.SUPPRESSED:
            copy = Delivery.objects.create(
                rule=delivery.rule,
                channel=delivery.channel,
                msp_rule_id=delivery.msp_rule_id,
                msp_channel_id=delivery.msp_channel_id,
                channel_name=delivery.channel_name,
                report_id=delivery.report_id,
                idempotency_key=f"{delivery.idempotency_key}.resend-{uuid.uuid4().hex[:8]}",
                summary=delivery.summary,
                payload=delivery.payload,
                next_attempt_at=now,
            )
            DeliveryItem.objects.bulk_create(
                DeliveryItem(
                    delivery=copy, finding_id=i.finding_id, event=i.event, severity=i.severity
                )
                for i in delivery.items.all()
            )
            delivery = copy
        else:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now
            delivery.save(update_fields=["status", "next_attempt_at"])
        _audit(actor=actor, action="notification_resent", resource=f"delivery {delivery.pk}")
        _enqueue_send(delivery.pk, delay=0.0, schema_name=connection.schema_name)
    return delivery


def send_test(*, channel: Channel, actor: str) -> DeliveryAttempt:
    """Send a sample message to ``channel`` now (in this process) and return the attempt,
    so the admin can show what the receiver answered."""
    tenant = _tenant()
    sample = {
        "finding_id": 0,
        "event": Event.OPENED,
        "severity": "high",
        "resource_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/"
        "example/providers/microsoft.network/networksecuritygroups/test-message",
        "resource_type": "microsoft.network/networksecuritygroups",
        "path": "properties.securityRules.allow-ssh.sourceAddressPrefix",
        "before": "10.0.0.0/8",
        "after": "*",
        "changed_by": actor,
        "url": f"{settings.NOTIFY_BASE_URL.rstrip('/')}/t/{tenant.slug}/admin/",
    }
    message = messages.build_message(
        tenant=_tenant_facts(tenant),
        items=[sample],
        report_id=None,
        notes=["This is a test message from the Azure Drift Detector."],
    )
    delivery = Delivery.objects.create(
        channel=channel,
        channel_name=channel.name,
        idempotency_key=f"{tenant.schema_name}.test.ch{channel.pk}.{uuid.uuid4().hex}",
        summary=f"test: {messages.title(message)}"[:300],
        payload=message,
        next_attempt_at=timezone.now(),
    )
    _audit(actor=actor, action="notification_test_sent", resource=f"channel {channel.name}")
    attempt_delivery(delivery_id=delivery.pk, force=True)
    # A test is one try: no retries scheduled for it.
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.DEAD, next_attempt_at=None
    )
    return DeliveryAttempt.objects.filter(delivery=delivery).first()
