"""One grouped message, rendered for each kind of channel (pure: no Django).

A message is a plain dict (kept on the Delivery as its payload): the tenant, counts by
event and severity, and the top findings (resource name, path, before -> after, who
changed it, a link). ``render_*`` turn it into an email, a Slack Block Kit message, a
Teams Adaptive Card 1.4 (the highest version the Workflows post action renders) or a
Standard Webhooks JSON body that carries each finding's event and dedupe key.
"""

from __future__ import annotations

import json
from typing import Any

from drift.choices import SEVERITIES, stored_severity_rank

TOP = 10
VALUE_CHARS = 120
MAX_ITEMS = 1000  # a webhook body lists at most this many finding events


def _value(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def resource_name(resource_id: str) -> str:
    """The last segment of an Azure resource id (its name)."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def build_message(
    *,
    tenant: dict[str, Any],
    items: list[dict[str, Any]],
    report_id: int | None,
    notes: list[str] | None = None,
    events: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Group ``items`` (one per finding event) into one message with counts and the top findings.

    ``notes`` are extra lines (a failing poll); ``events`` adds counts of events without items.
    """
    events = dict(events or {})
    severities: dict[str, int] = {}
    for item in items:
        events[item["event"]] = events.get(item["event"], 0) + 1
        if item["event"] != "resolved":
            severities[item["severity"]] = severities.get(item["severity"], 0) + 1
    ordered = sorted(
        items,
        key=lambda i: (
            i["event"] == "resolved",
            -stored_severity_rank(i["severity"]),
            i["resource_id"],
        ),
    )
    return {
        "tenant": tenant,
        "report_id": report_id,
        "events": events,
        "by_severity": {s: severities[s] for s in reversed(SEVERITIES) if s in severities},
        "total": len(items),
        "findings": ordered[:TOP],
        "items": ordered[:MAX_ITEMS],
        "more": max(0, len(items) - TOP),
        "notes": notes or [],
    }


def title(message: dict[str, Any]) -> str:
    """One line: tenant and what happened ("tenant-a: 3 opened, 1 resolved")."""
    counts = ", ".join(f"{n} {event.replace('_', ' ')}" for event, n in message["events"].items())
    return f"[{message['tenant']['slug']}] drift: {counts}"


def _finding_line(item: dict[str, Any]) -> str:
    return (
        f"{item['event'].upper()} {item['severity']} {resource_name(item['resource_id'])} "
        f"{item['path']}: {_value(item['before'])} -> {_value(item['after'])} "
        f"(by {item['changed_by']})"
    )


def render_email(message: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain-text body)."""
    lines = [title(message), "", *message["notes"]]
    if message["by_severity"]:
        severity = ", ".join(f"{s}: {n}" for s, n in message["by_severity"].items())
        lines += [f"By severity: {severity}", ""]
    for item in message["findings"]:
        lines += [_finding_line(item), f"  {item['resource_id']}", f"  {item['url']}", ""]
    if message["more"]:
        lines.append(f"... and {message['more']} more")
    return title(message), "\n".join(lines)


def render_slack(message: dict[str, Any]) -> dict[str, Any]:
    """A Block Kit message with a plain-text fallback."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(message)[:150]}},
    ]
    if message["by_severity"]:
        severity = "  ".join(f"*{s}*: {n}" for s, n in message["by_severity"].items())
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": severity}})
    for note in message["notes"]:
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": note[:2900]}})
    for item in message["findings"]:
        text = (
            f"*{item['event']}* `{item['severity']}` <{item['url']}|"
            f"{resource_name(item['resource_id'])}> `{item['path']}`\n"
            f"{_value(item['before'])} → {_value(item['after'])} · by {item['changed_by']}"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
    if message["more"]:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"and {message['more']} more"}],
            }
        )
    return {"text": title(message), "blocks": blocks}


def render_teams(message: dict[str, Any]) -> dict[str, Any]:
    """A Workflows webhook body: one Adaptive Card, version 1.4."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": title(message)},
    ]
    if message["by_severity"]:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": s, "value": str(n)} for s, n in message["by_severity"].items()],
            }
        )
    for note in message["notes"]:
        body.append({"type": "TextBlock", "wrap": True, "text": note})
    for item in message["findings"]:
        body.append({"type": "TextBlock", "wrap": True, "text": _finding_line(item)})
        body.append({"type": "TextBlock", "wrap": True, "text": f"[Open finding]({item['url']})"})
    if message["more"]:
        body.append({"type": "TextBlock", "text": f"and {message['more']} more"})
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


#: drift severities -> PagerDuty Events v2 severities
PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}


def render_pagerduty(
    message: dict[str, Any], *, routing_key: str, dedup_key: str, timestamp: str
) -> list[dict[str, Any]]:
    """PagerDuty Events v2 events for a message: a ``trigger`` keyed by ``dedup_key`` (the
    delivery's idempotency key, so a resend is the same alert) when anything opened,
    escalated or failed, and a ``resolve`` for each earlier alert whose findings are now
    all resolved (``message["pagerduty_resolve"]``)."""
    events: list[dict[str, Any]] = []
    active = [i for i in message["items"] if i["event"] != "resolved"]
    if active or message["notes"]:
        order = list(PAGERDUTY_SEVERITY)  # worst first
        worst = min(
            (i["severity"] for i in active),
            key=lambda s: order.index(s) if s in order else len(order),
            default="critical",
        )
        top = active[0] if active else None
        events.append(
            {
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {
                    "summary": title(message)[:1024],
                    "source": f"azure-drift-detector/{message['tenant']['slug']}",
                    "severity": PAGERDUTY_SEVERITY.get(worst, "info"),
                    "timestamp": timestamp,
                    "component": resource_name(top["resource_id"]) if top else "polling",
                    "group": message["tenant"]["slug"],
                    "class": "configuration drift",
                    "custom_details": {
                        "events": message["events"],
                        "by_severity": message["by_severity"],
                        "notes": message["notes"],
                        "findings": [
                            f"{i['event']} {i['severity']} {resource_name(i['resource_id'])} "
                            f"{i['path']}: {i['before']!r} -> {i['after']!r}"
                            for i in active[:20]
                        ],
                    },
                },
                "links": [
                    {"href": i["url"], "text": resource_name(i["resource_id"])} for i in active[:5]
                ],
            }
        )
    for key in message.get("pagerduty_resolve", []):
        events.append({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})
    return events


def render_webhook(message: dict[str, Any], *, timestamp: str) -> dict[str, Any]:
    """The Standard Webhooks body: type, timestamp, and data with one entry per finding event."""
    return {
        "type": "drift.findings",
        "timestamp": timestamp,
        "data": {
            "tenant": message["tenant"],
            "report_id": message["report_id"],
            "events": message["events"],
            "by_severity": message["by_severity"],
            "total": message["total"],
            "notes": message["notes"],
            "findings": [
                {
                    "event": item["event"],
                    "finding_id": item["finding_id"],
                    "dedupe_key": f"{message['tenant']['slug']}:{item['finding_id']}",
                    "severity": item["severity"],
                    "resource_id": item["resource_id"],
                    "resource_name": resource_name(item["resource_id"]),
                    "path": item["path"],
                    "before": item["before"],
                    "after": item["after"],
                    "changed_by": item["changed_by"],
                    "url": item["url"],
                }
                for item in message["items"]
            ],
        },
    }
