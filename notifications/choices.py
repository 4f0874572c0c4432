"""The vocabularies of notifications (channel kinds, events, modes, delivery states)."""

from __future__ import annotations

from django.db import models


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack (incoming webhook)"
    TEAMS = "teams", "Microsoft Teams (Workflows webhook)"
    WEBHOOK = "webhook", "Webhook (Standard Webhooks signed)"
    PAGERDUTY = "pagerduty", "PagerDuty (Events API v2)"


#: Kinds that post to a user-supplied URL (every such URL passes the SSRF guard).
HTTP_KINDS = (ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.WEBHOOK, ChannelKind.PAGERDUTY)


class Event(models.TextChoices):
    OPENED = "opened", "finding opened"
    ESCALATED = "escalated", "severity escalated"
    RESOLVED = "resolved", "finding resolved"
    EXCEPTION_EXPIRED = "exception_expired", "exception expired"
    POLL_FAILING = "poll_failing", "poll failing"


DEFAULT_EVENTS = [Event.OPENED, Event.ESCALATED, Event.RESOLVED, Event.EXCEPTION_EXPIRED]


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", "immediately"
    HOURLY = "hourly", "hourly digest"
    DAILY = "daily", "daily digest"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed (retry scheduled)"
    DEAD = "dead", "dead (no more retries)"
    SUPPRESSED = "suppressed", "suppressed (snoozed)"


#: Deliveries that may still be sent (picked up by the sweep when next_attempt_at is due).
OUTSTANDING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
