"""Realistic Azure resource JSON as Resource Graph returns it (mixed-case ids, volatile fields)."""

from __future__ import annotations

import copy
from typing import Any

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/RG-Prod"
UPPER_RG_ID = f"/SUBSCRIPTIONS/{SUB}/resourceGroups/RG-Prod"
AUTHORIZATION = f"/subscriptions/{SUB}/providers/Microsoft.Authorization"
ROLE_DEFINITIONS = f"{AUTHORIZATION}/roleDefinitions"
ASSIGNMENT = "9f1c2a3b-0000-4000-8000-000000000001"


def nsg() -> dict[str, Any]:
    nsg_id = f"{RG_ID}/providers/Microsoft.Network/networkSecurityGroups/nsg-web"

    def rule(name: str, priority: int, port: str, access: str = "Allow") -> dict[str, Any]:
        return {
            "name": name,
            "id": f"{nsg_id}/securityRules/{name}",
            "etag": 'W/"8c0e3a1f-0000-0000-0000-000000000001"',
            "type": "Microsoft.Network/networkSecurityGroups/securityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "protocol": "Tcp",
                "sourcePortRange": "*",
                "destinationPortRange": port,
                "sourceAddressPrefix": "Internet",
                "destinationAddressPrefix": "*",
                "access": access,
                "priority": priority,
                "direction": "Inbound",
                "sourceAddressPrefixes": [],
                "destinationPortRanges": [],
            },
        }

    return {
        "id": nsg_id,
        "name": "nsg-web",
        "type": "Microsoft.Network/networkSecurityGroups",
        "tenantId": "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
        "kind": "",
        "location": "westeurope",
        "resourceGroup": "RG-Prod",
        "subscriptionId": SUB,
        "managedBy": "",
        "sku": None,
        "tags": {"env": "prod", "owner": "Zoë Müller"},
        "etag": 'W/"8c0e3a1f-0000-0000-0000-000000000000"',
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "5e1b2c3d-aaaa-bbbb-cccc-1234567890ab",
            "securityRules": [
                rule("allow-https", 100, "443"),
                rule("allow-ssh-from-office", 110, "22"),
                rule("deny-all", 4096, "*", "Deny"),
            ],
            "subnets": [
                {"id": f"{UPPER_RG_ID}/providers/Microsoft.Network/virtualNetworks/v/subnets/web"}
            ],
        },
    }


def storage_account() -> dict[str, Any]:
    return {
        "id": f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stprodlogs01",
        "name": "stprodlogs01",
        "type": "Microsoft.Storage/storageAccounts",
        "location": "West Europe",
        "resourceGroup": "RG-Prod",
        "subscriptionId": SUB,
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "tags": {},
        "properties": {
            "allowBlobPublicAccess": False,
            "minimumTlsVersion": "TLS1_2",
            "supportsHttpsTrafficOnly": True,
            "publicNetworkAccess": "Enabled",
            "creationTime": "2024-03-02T10:11:12.0000000Z",
            "statusOfPrimary": "available",
            "networkAcls": {
                "defaultAction": "Allow",
                "bypass": "AzureServices",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
        },
    }


def virtual_machine() -> dict[str, Any]:
    return {
        "id": f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/vm-app-01",
        "name": "vm-app-01",
        "type": "Microsoft.Compute/virtualMachines",
        "location": "westeurope",
        "resourceGroup": "RG-Prod",
        "subscriptionId": SUB,
        "properties": {
            "vmId": "1c2d3e4f-5555-6666-7777-88889999aaaa",
            "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
            "timeCreated": "2024-01-01T00:00:00Z",
            "extended": {"instanceView": {"powerState": {"code": "PowerState/running"}}},
            "networkProfile": {
                "networkInterfaces": [
                    {"id": f"{RG_ID}/providers/Microsoft.Network/networkInterfaces/VM-APP-01-NIC"}
                ]
            },
        },
    }


def vnet() -> dict[str, Any]:
    return {
        "id": f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet-hub",
        "name": "vnet-hub",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "resourceGroup": "RG-Prod",
        "subscriptionId": SUB,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16", "10.1.0.0/16"]},
            "dhcpOptions": {"dnsServers": ["10.0.0.4", "10.0.0.5"]},
            "subnets": [
                {"name": "GatewaySubnet", "properties": {"addressPrefix": "10.0.0.0/27"}},
                {"name": "web", "properties": {"addressPrefix": "10.0.1.0/24"}},
            ],
        },
    }


def role_assignment() -> dict[str, Any]:
    return {
        "id": f"{AUTHORIZATION}/roleAssignments/{ASSIGNMENT}",
        "name": "9f1c2a3b-0000-4000-8000-000000000001",
        "type": "microsoft.authorization/roleassignments",
        "subscriptionId": SUB,
        "properties": {
            "roleDefinitionId": f"{ROLE_DEFINITIONS}/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635",
            "principalId": "aaaabbbb-0000-1111-2222-333344445555",
            "principalType": "User",
            "scope": f"/subscriptions/{SUB}",
            "createdOn": "2024-05-05T05:05:05Z",
        },
    }


ALL = [nsg, storage_account, virtual_machine, vnet, role_assignment]


def fresh(factory) -> dict[str, Any]:
    return copy.deepcopy(factory())
