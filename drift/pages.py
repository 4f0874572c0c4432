"""What the finding page shows and what its buttons do (thin: reads from selectors,
writes through drift.services)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.timesince import timesince

from configurations.diffing import side_by_side_html
from configurations.models import Configuration
from drift import selectors, services
from drift.focus import arm_parts, focus, line_diff, principal_label
from drift.models import DriftFinding

PORTAL = "https://portal.azure.com/#@{tenant}/resource{resource}"
VERBS = {"modified": "changed", "added": "added", "removed": "removed"}


def known_apps() -> dict[str, str]:
    """Client id -> name of the MSP's own app registrations (they make changes too)."""
    from tenants.models import AzureCredential

    return {
        cid.lower(): name for cid, name in AzureCredential.objects.values_list("client_id", "name")
    }


def default_expiry() -> datetime:
    """An exception's default end: 30 days from now."""
    return (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)


def finding_page_context(finding: DriftFinding) -> dict[str, Any]:
    """Headline, focused before/after, whole-resource diff, history and links of a finding."""
    from tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    parts = arm_parts(finding.resource_id)
    names = selectors.subscription_names()
    who, who_id = principal_label(finding.changed_by, known_apps())
    rule = selectors.rule_details(finding)
    approved, current = selectors.approved_and_current(finding)
    before = approved if approved is not None else None
    after = current
    shown = focus(finding.path, before, after)
    if shown["before"] is None and shown["after"] is None:
        shown = {
            "scope": finding.path or "(whole resource)",
            "before": finding.baseline_value,
            "after": finding.current_value,
            "leaf": "",
        }
    verb = VERBS.get(finding.kind, finding.kind)
    if shown["before"] is None and shown["after"] is not None:
        verb = "added"
    elif shown["after"] is None and shown["before"] is not None:
        verb = "removed"
    when = timesince(finding.first_seen)
    configuration = (
        Configuration.objects.filter(resource_id=finding.resource_id)
        .values_list("pk", flat=True)
        .first()
    )
    return {
        "finding": finding,
        "parts": parts,
        "subscription_name": names.get(parts["subscription_id"].lower(), parts["subscription_id"]),
        "who": who,
        "who_id": who_id,
        "verb": verb,
        "when": when,
        "rule": rule,
        "focus": shown,
        "focus_lines": line_diff(shown["before"], shown["after"]),
        "full_diff": side_by_side_html(approved, current, labels=("baseline", "current")),
        "history": list(selectors.resource_history(finding.resource_id, limit=20)),
        "configuration_pk": configuration,
        "portal_url": PORTAL.format(tenant=tenant.azure_tenant_id, resource=finding.resource_id),
        "tenant": tenant,
    }


def apply_action(finding: DriftFinding, data: dict[str, Any], *, actor: str) -> str:
    """Run the chosen drift service on this one finding; returns what was done."""
    ids = [finding.pk]
    action = data["action"]
    if action in ("acknowledge", "reopen"):
        status = "acknowledged" if action == "acknowledge" else "open"
        services.set_findings_status(ids, status, actor=actor)
        return f"Finding {status}."
    if action == "accept":
        services.accept_into_baseline(ids, actor=actor)
        return "The resource's current configuration is now its baseline."
    if action == "exception":
        from django.core.exceptions import ValidationError

        problems = {}
        if not (data.get("reason") or "").strip():
            problems["reason"] = "Say why this deviation is accepted."
        if not data.get("expires_at"):
            problems["expires_at"] = "Give the date the exception ends (YYYY-MM-DD HH:MM)."
        if problems:
            raise ValidationError(problems)
        services.create_exceptions(
            ids, reason=data["reason"], expires_at=data["expires_at"], actor=actor
        )
        return f"Exception created until {data['expires_at']:%Y-%m-%d %H:%M}."
    scope = "resource" if action == "ignore_resource" else "type"
    services.ignore_finding_paths(ids, actor=actor, scope=scope)
    return (
        "Ignore rule added for this path on this resource; finding resolved."
        if scope == "resource"
        else "Ignore rule added for this path on every resource of this type; finding resolved."
    )
