"""Governance and monitoring shapes: role and policy assignments, Log Analytics, action groups."""

from __future__ import annotations

from typing import Any

from . import naming
from .common import GenContext, azure_time, guid, row

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE_NAMES = {OWNER: "Owner", CONTRIBUTOR: "Contributor", READER: "Reader"}

_POLICIES = [
    ("Allowed locations", "e56962a6-4747-49cd-b67b-bf8b01975c4c"),
    ("Storage accounts should restrict network access", "34c877ad-507e-4c82-993e-3452a6e0ad3c"),
    ("Key vaults should have deletion protection enabled", "0b60c0b2-2dc2-4e1c-b5c9-abbed971de53"),
]


def _role_assignment(ctx: GenContext, scope: str) -> dict[str, Any]:
    role = ctx.rng.choice([OWNER, CONTRIBUTOR, CONTRIBUTOR, READER, READER, READER])
    name, rid = naming.identity(ctx)
    created = azure_time(ctx.rng)
    properties = {
        "roleDefinitionId": f"/subscriptions/{ctx.subscription_id}/providers/"
        f"Microsoft.Authorization/roleDefinitions/{role}",
        "principalId": guid(ctx.rng),
        "principalType": ctx.rng.choice(["User", "Group", "ServicePrincipal"]),
        "scope": scope,
        "condition": None,
        "conditionVersion": None,
        "createdOn": created,
        "updatedOn": created,
        "createdBy": guid(ctx.rng),
        "updatedBy": guid(ctx.rng),
        "delegatedManagedIdentityResourceId": None,
        "description": None,
    }
    return row(
        ctx,
        "Microsoft.Authorization/roleAssignments",
        name,
        rid,
        properties,
        location="",
        tags=None,
    )


def role_assignment_subscription(ctx: GenContext) -> dict[str, Any]:
    """A role assignment at subscription scope (``authorizationresources`` table)."""
    result = _role_assignment(ctx, f"/subscriptions/{ctx.subscription_id}")
    result["resourceGroup"] = ""
    return result


def role_assignment_group(ctx: GenContext) -> dict[str, Any]:
    """A role assignment at resource-group scope (``authorizationresources`` table)."""
    return _role_assignment(ctx, ctx.rg_id())


def policy_assignment(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Authorization/policyAssignments at resource-group scope (``policyresources``)."""
    display, definition = ctx.rng.choice(_POLICIES)
    name, rid = naming.identity(ctx)
    properties = {
        "displayName": display,
        "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/" + definition,
        "scope": ctx.rg_id(),
        "notScopes": [],
        "parameters": {},
        "enforcementMode": ctx.rng.choice(["Default", "Default", "DoNotEnforce"]),
        "nonComplianceMessages": [],
        "metadata": {"assignedBy": "Platform team", "createdOn": azure_time(ctx.rng)},
    }
    return row(
        ctx,
        "Microsoft.Authorization/policyAssignments",
        name,
        rid,
        properties,
        location="",
        tags=None,
        sku={"name": "A0", "tier": "Free"},
    )


def log_analytics_workspace(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.OperationalInsights/workspaces (ids come back lower-cased, as in Azure)."""
    name, rid = naming.identity(ctx)
    properties = {
        "provisioningState": "Succeeded",
        "customerId": guid(ctx.rng),
        "sku": {"name": "PerGB2018", "lastSkuUpdate": azure_time(ctx.rng)},
        "retentionInDays": ctx.rng.choice([30, 90, 365]),
        "features": {"enableLogAccessUsingOnlyResourcePermissions": True},
        "workspaceCapping": {
            "dailyQuotaGb": -1.0,
            "quotaNextResetTime": "2024-01-02T00:00:00Z",
            "dataIngestionStatus": "RespectQuota",
        },
        "publicNetworkAccessForIngestion": "Enabled",
        "publicNetworkAccessForQuery": ctx.rng.choice(["Enabled", "Disabled"]),
        "createdDate": azure_time(ctx.rng),
        "modifiedDate": azure_time(ctx.rng),
    }
    return row(ctx, "Microsoft.OperationalInsights/workspaces", name, rid, properties)


def action_group(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Insights/actionGroups (global; provider segment lower-cased as Azure does)."""
    name, rid = naming.identity(ctx)
    properties = {
        "groupShortName": name[-12:],
        "enabled": True,
        "emailReceivers": [
            {
                "name": "oncall",
                "emailAddress": "oncall@contoso.com",
                "useCommonAlertSchema": True,
                "status": "Enabled",
            }
        ],
        "smsReceivers": [],
        "webhookReceivers": [],
        "armRoleReceivers": [],
    }
    return row(ctx, "Microsoft.Insights/actionGroups", name, rid, properties, location="Global")
