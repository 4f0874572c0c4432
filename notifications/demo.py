"""Demo notification setup: one channel of every kind pointing at the local inbox, and a rule.

Called by ``setup_demo`` in each demo tenant's schema; idempotent (existing channels and
rules with the demo names are kept).
"""

from __future__ import annotations

from notifications import services
from notifications.choices import ChannelKind
from notifications.models import Channel, NotificationRule

RULE_NAME = "Demo: high and critical drift"


def create_demo_notifications(*, inbox_url: str, slug: str, actor: str = "setup_demo") -> int:
    """Create the demo channels and rule for tenant ``slug``; returns how many channels were new."""
    base = inbox_url.rstrip("/")
    wanted = {
        "Demo email": {"kind": ChannelKind.EMAIL, "addresses": [f"oncall+{slug}@example.com"]},
        "Demo Slack": {"kind": ChannelKind.SLACK, "url": f"{base}/{slug}/slack"},
        "Demo Teams": {"kind": ChannelKind.TEAMS, "url": f"{base}/{slug}/teams"},
        "Demo webhook": {
            "kind": ChannelKind.WEBHOOK,
            "url": f"{base}/{slug}/webhook",
            "secret": services.generate_secret(),
        },
    }
    created = 0
    for name, spec in wanted.items():
        if not Channel.objects.filter(name=name).exists():
            services.create_channel(name=name, actor=actor, **spec)
            created += 1
    if not NotificationRule.objects.filter(name=RULE_NAME).exists():
        services.create_rule(
            name=RULE_NAME,
            actor=actor,
            channels=Channel.objects.filter(name__in=wanted),
            min_severity="high",
        )
    return created
