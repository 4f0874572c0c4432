"""Resource containers: subscriptions and resource groups (``resourcecontainers`` table)."""

from __future__ import annotations

from typing import Any

_REGIONS = ["westeurope", "northeurope", "uksouth", "eastus2", "swedencentral"]
_SUB_KINDS = ["Production", "Development", "Développement", "Shared Services", "Sandbox"]


def region(rg_index: int) -> str:
    """The location of the resource group with this index."""
    return _REGIONS[rg_index % len(_REGIONS)]


def resource_group_name(sub_index: int, rg_index: int) -> str:
    """Resource group names as people make them: mostly lower-case, some legacy upper-case
    and some with non-ASCII letters (Azure allows Unicode letters in group names)."""
    if (sub_index + rg_index) % 5 == 1:
        return f"RG-LEGACY-{sub_index:02d}-{rg_index:03d}"
    if (sub_index + rg_index) % 7 == 2:
        return f"rg-données-{sub_index:02d}-{rg_index:03d}"
    env = ("prod", "dev", "test")[rg_index % 3]
    return f"rg-{env}-{region(rg_index)}-{sub_index:02d}-{rg_index:03d}"


def subscription_display_name(tenant_name: str, sub_index: int) -> str:
    """A human display name for the subscription."""
    return f"{tenant_name} {_SUB_KINDS[sub_index % len(_SUB_KINDS)]} {sub_index + 1}"


def subscription_row(tenant_id: str, subscription_id: str, display_name: str) -> dict[str, Any]:
    """The subscription as a Resource Graph ``resourcecontainers`` row."""
    return {
        "id": f"/subscriptions/{subscription_id}",
        "name": display_name,
        "type": "microsoft.resources/subscriptions",
        "tenantId": tenant_id,
        "kind": "",
        "location": "",
        "resourceGroup": "",
        "subscriptionId": subscription_id,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": {
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
            "state": "Enabled",
            "managementGroupAncestorsChain": [
                {"displayName": "Tenant Root Group", "name": tenant_id}
            ],
        },
        "tags": {},
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


def subscription_arm(tenant_id: str, subscription_id: str, display_name: str) -> dict[str, Any]:
    """The subscription as ``GET /subscriptions`` (api-version 2022-12-01) returns it."""
    return {
        "id": f"/subscriptions/{subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
        "subscriptionId": subscription_id,
        "tenantId": tenant_id,
        "displayName": display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def resource_group_row(
    tenant_id: str, subscription_id: str, name: str, location: str, env_tag: str
) -> dict[str, Any]:
    """A resource group as a Resource Graph ``resourcecontainers`` row."""
    return {
        "id": f"/subscriptions/{subscription_id}/resourceGroups/{name}",
        "name": name,
        "type": "microsoft.resources/subscriptions/resourcegroups",
        "tenantId": tenant_id,
        "kind": "",
        "location": location,
        "resourceGroup": name.lower(),
        "subscriptionId": subscription_id,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": {"provisioningState": "Succeeded"},
        "tags": {"environment": env_tag},
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }
