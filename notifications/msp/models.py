"""MSP-level notification channels and rules (public schema), defined once by MSP staff.

A rule scopes all customer tenants or chosen ones and is evaluated in each scoped
tenant's own evaluation, next to that tenant's rules. Its deliveries are rows of that
tenant's ``notifications.Delivery`` (with ``msp_rule_id`` / ``msp_channel_id``), so the
per-tenant sweep, leases and idempotency work unchanged and a tenant's data never leaves
its schema. URLs and secrets are encrypted at rest, as for tenant channels.
"""

from __future__ import annotations

from django.db import models

from notifications.models import ChannelBase, RuleBase


class MspChannel(ChannelBase):
    """A channel of the MSP (e.g. the on-call webhook); customers never see it."""

    is_msp = True

    class Meta(ChannelBase.Meta):
        abstract = False
        verbose_name = "MSP channel"


class MspNotificationRule(RuleBase):
    """A rule for every customer tenant (``all_tenants``) or the chosen ``tenants``."""

    is_msp = True
    all_tenants = models.BooleanField(default=True)
    tenants = models.ManyToManyField(
        "tenants.Tenant",
        blank=True,
        related_name="+",
        help_text="the tenants this rule applies to when it is not for all tenants",
    )
    channels = models.ManyToManyField(MspChannel, related_name="rules")

    class Meta(RuleBase.Meta):
        abstract = False
        verbose_name = "MSP notification rule"
