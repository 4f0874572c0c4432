"""Reads for a customer's posture page (connection already in the tenant's schema)."""

from __future__ import annotations

from typing import Any

from configurations.models import ConfigurationHistory
from drift.choices import SEVERITIES, rank_expression
from drift.focus import arm_parts, principal_label
from drift.models import DriftFinding
from drift.selectors import finding_counts_by_severity, subscription_names
from tenants.models import Tenant, TenantStatus

LIST_LIMIT = 100
CHANGES_LIMIT = 20


def tenant_posture(tenant: Tenant) -> dict[str, Any]:
    """Open findings by severity, the unresolved findings (worst first), recent changes
    and the last successful poll of ``tenant``."""
    names = subscription_names()
    unresolved = (
        DriftFinding.objects.filter(status__in=["open", "acknowledged"])
        .annotate(severity_rank=rank_expression())
        .order_by("-severity_rank", "-first_seen", "-id")
    )
    counts = dict.fromkeys(SEVERITIES, 0)
    counts.update(finding_counts_by_severity(("open", "acknowledged")))
    findings = []
    for finding in unresolved[:LIST_LIMIT]:
        parts = arm_parts(finding.resource_id)
        who, who_id = principal_label(finding.changed_by)
        findings.append(
            {
                "finding": finding,
                "parts": parts,
                "subscription": names.get(
                    parts["subscription_id"].lower(), parts["subscription_id"]
                ),
                "who": who,
                "who_id": who_id,
            }
        )
    changes = []
    for row in ConfigurationHistory.objects.select_related("configuration").order_by(
        "-changed_at", "-id"
    )[:CHANGES_LIMIT]:
        who, who_id = principal_label(row.changed_by)
        changes.append({"row": row, "who": who, "who_id": who_id})
    return {
        "severity_counts": [(s, counts[s]) for s in reversed(SEVERITIES)],
        "unresolved_total": sum(counts.values()),
        "findings": findings,
        "changes": changes,
        "status": TenantStatus.objects.filter(tenant=tenant).first(),
    }
