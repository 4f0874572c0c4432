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


# ----- tenant- and subscription-level governance rows -----------------------------------
# Resource Graph's authorizationresources also holds role definitions (built-in ones at
# tenant scope, custom ones per subscription) and classic administrators; policyresources
# also holds policy definitions, policy set definitions, exemptions and policy states.
# The estate adds these beside the block layout (see Estate._build_index).

BUILTIN_ROLES = [
    (OWNER, "Owner", "Grants full access to manage all resources.", ["*"]),
    (
        CONTRIBUTOR,
        "Contributor",
        "Grants full access to manage all resources, without allowing you to assign roles.",
        ["*"],
    ),
    (
        READER,
        "Reader",
        "View all resources, but does not allow you to make any changes.",
        ["*/read"],
    ),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        ["*/read", "Microsoft.Authorization/*"],
    ),
    (
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "Key Vault Administrator",
        "Perform all data plane operations on a key vault.",
        ["Microsoft.KeyVault/*/read"],
    ),
    (
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Storage Blob Data Reader",
        "Read and list Azure Storage containers and blobs.",
        ["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
    ),
]
BUILTIN_POLICY_SETS = [
    ("1f3afdf9-d0c9-4c3d-847f-89da613e70a8", "Microsoft cloud security benchmark"),
]
TENANT_ROWS = {
    "roledef": len(BUILTIN_ROLES),
    "policydef": len(_POLICIES),
    "policyset": len(BUILTIN_POLICY_SETS),
}
SUBSCRIPTION_ROWS = {
    "customrole": 2,
    "classicadmin": 1,
    "custompolicy": 1,
    "exemption": 1,
    "policystate": 3,
}
GOVERNANCE_TYPES = {
    "roledef": "microsoft.authorization/roledefinitions",
    "customrole": "microsoft.authorization/roledefinitions",
    "classicadmin": "microsoft.authorization/classicadministrators",
    "policydef": "microsoft.authorization/policydefinitions",
    "custompolicy": "microsoft.authorization/policydefinitions",
    "policyset": "microsoft.authorization/policysetdefinitions",
    "exemption": "microsoft.authorization/policyexemptions",
    "policystate": "microsoft.policyinsights/policystates",
}
_STAMP = "2023-01-02T08:00:00.0000000Z"


def extension_row(
    tenant_id: str,
    subscription_id: str,
    rid: str,
    type_name: str,
    properties: dict[str, Any],
    resource_group: str = "",
) -> dict[str, Any]:
    """The row of an extension resource (policy, role, change): no location, sku or tags."""
    return {
        "id": rid,
        "name": rid.rsplit("/", 1)[-1],
        "type": type_name,
        "tenantId": tenant_id,
        "kind": "",
        "location": "",
        "resourceGroup": resource_group,
        "subscriptionId": subscription_id,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": properties,
        "tags": None,
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


def governance_id(kind: str, subscription_id: str, n: int, token: str) -> str:
    """The ARM id of the n-th governance row of a kind (tenant level when no subscription)."""
    sub = f"/subscriptions/{subscription_id}" if subscription_id else ""
    if kind == "roledef":
        return f"/providers/Microsoft.Authorization/RoleDefinitions/{BUILTIN_ROLES[n][0]}"
    if kind == "policydef":
        return f"/providers/Microsoft.Authorization/policyDefinitions/{_POLICIES[n][1]}"
    if kind == "policyset":
        return (
            f"/providers/Microsoft.Authorization/policySetDefinitions/{BUILTIN_POLICY_SETS[n][0]}"
        )
    segment = {
        "customrole": "roleDefinitions",
        "classicadmin": "classicAdministrators",
        "custompolicy": "policyDefinitions",
        "exemption": "policyExemptions",
    }.get(kind)
    if segment is not None:
        name = _stable_guid(kind, subscription_id, n, token)
        if kind == "exemption":
            name = f"exempt-{token}-{n:02d}"
        return f"{sub}/providers/Microsoft.Authorization/{segment}/{name}"
    digest = _stable_guid("state", subscription_id, n, token).replace("-", "")[:24]
    return f"{sub}/providers/microsoft.policyinsights/policystates/{digest}"


def _stable_guid(*parts: object) -> str:
    import hashlib
    import uuid

    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


def _permissions(actions: list[str]) -> list[dict[str, Any]]:
    return [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]


def governance_row(
    kind: str,
    tenant_id: str,
    subscription_id: str,
    n: int,
    token: str,
    evaluation: int = 0,
    interval: int = 60,
) -> dict[str, Any]:
    """The n-th governance row of a kind. ``evaluation`` numbers the policy evaluation:
    a policy state's compliance fields move with it, as Azure's do on every evaluation."""
    rid = governance_id(kind, subscription_id, n, token)
    type_name = GOVERNANCE_TYPES[kind]
    sub_scope = f"/subscriptions/{subscription_id}"
    if kind == "roledef":
        _guid, name, description, actions = BUILTIN_ROLES[n]
        properties: dict[str, Any] = {
            "roleName": name,
            "type": "BuiltInRole",
            "description": description,
            "assignableScopes": ["/"],
            "permissions": _permissions(actions),
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": _STAMP,
            "createdBy": None,
            "updatedBy": None,
        }
    elif kind == "customrole":
        properties = {
            "roleName": f"Contoso operator {token}-{n}",
            "type": "CustomRole",
            "description": "Restart and read virtual machines.",
            "assignableScopes": [sub_scope],
            "permissions": _permissions(
                [
                    "Microsoft.Compute/virtualMachines/read",
                    "Microsoft.Compute/virtualMachines/restart/action",
                ]
            ),
            "createdOn": _STAMP,
            "updatedOn": _STAMP,
            "createdBy": _stable_guid("creator", subscription_id, n),
            "updatedBy": _stable_guid("creator", subscription_id, n),
        }
    elif kind == "classicadmin":
        properties = {
            "emailAddress": f"billing-{token}@contoso.com",
            "role": "ServiceAdministrator;AccountAdministrator",
        }
    elif kind in ("policydef", "custompolicy"):
        display = _POLICIES[n % len(_POLICIES)][0]
        properties = {
            "displayName": display if kind == "policydef" else f"Contoso: {display}",
            "policyType": "BuiltIn" if kind == "policydef" else "Custom",
            "mode": "Indexed",
            "description": display,
            "metadata": {"version": "1.0.0", "category": "General"},
            "parameters": {},
            "policyRule": {
                "if": {"field": "location", "notIn": ["westeurope", "northeurope"]},
                "then": {"effect": "audit"},
            },
        }
    elif kind == "policyset":
        properties = {
            "displayName": BUILTIN_POLICY_SETS[n][1],
            "policyType": "BuiltIn",
            "description": BUILTIN_POLICY_SETS[n][1],
            "metadata": {"version": "57.0.0", "category": "Security Center"},
            "parameters": {},
            "policyDefinitions": [
                {
                    "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/"
                    + definition,
                    "policyDefinitionReferenceId": f"ref{i}",
                    "parameters": {},
                    "groupNames": [],
                }
                for i, (_display, definition) in enumerate(_POLICIES)
            ],
            "policyDefinitionGroups": [],
        }
    elif kind == "exemption":
        properties = {
            "policyAssignmentId": f"{sub_scope}/providers/Microsoft.Authorization/"
            f"policyAssignments/pa-{token}-{n:02d}",
            "policyDefinitionReferenceIds": [],
            "exemptionCategory": "Waiver",
            "displayName": "Legacy workload waiver",
            "description": "Agreed with the security team until migration.",
            "expiresOn": "2030-12-31T23:00:00Z",
            "metadata": {"requestedBy": "ops-team"},
            "assignmentScopeValidation": "Default",
            "resourceSelectors": [],
        }
    else:  # policystate: compliance re-evaluated, so it moves on every evaluation
        definition = _POLICIES[n % len(_POLICIES)][1]
        compliant = (evaluation + n) % 3 != 0
        moment = evaluation * interval
        properties = {
            "timestamp": _iso(moment),
            "resourceId": sub_scope,
            "resourceType": "Microsoft.Resources/subscriptions",
            "resourceLocation": "",
            "resourceGroup": "",
            "subscriptionId": subscription_id,
            "policyAssignmentId": f"{sub_scope}/providers/Microsoft.Authorization/"
            f"policyAssignments/pa-{token}-{n:02d}",
            "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/"
            + definition,
            "policyDefinitionAction": "audit",
            "complianceState": "Compliant" if compliant else "NonCompliant",
            "stateWeight": 100 if compliant else 300,
            "isCompliant": compliant,
            "policyEvaluationDetails": {"evaluatedExpressions": [], "reason": ""},
        }
    return extension_row(tenant_id, subscription_id, rid, type_name, properties)


def _iso(epoch_seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
