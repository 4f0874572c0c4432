"""Data-plane-holding shapes: storage accounts, key vaults, SQL servers and databases."""

from __future__ import annotations

from typing import Any

from . import layout, naming
from .common import GenContext, azure_time, guid, row, system_identity


def storage_account(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Storage/storageAccounts with the security settings drift rules watch."""
    name, rid = naming.identity(ctx)
    public = ctx.rng.random() < 0.25
    created = azure_time(ctx.rng)
    endpoints = {
        svc: f"https://{name}.{svc}.core.windows.net/" for svc in ("blob", "queue", "table", "file")
    }
    endpoints["dfs"] = f"https://{name}.dfs.core.windows.net/"
    endpoints["web"] = f"https://{name}.z6.web.core.windows.net/"
    properties = {
        "provisioningState": "Succeeded",
        "creationTime": created,
        "primaryLocation": ctx.location,
        "statusOfPrimary": "available",
        "primaryEndpoints": endpoints,
        "accessTier": ctx.rng.choice(["Hot", "Cool"]),
        "allowBlobPublicAccess": public,
        "allowSharedKeyAccess": ctx.rng.random() < 0.6,
        "minimumTlsVersion": ctx.rng.choice(["TLS1_2", "TLS1_2", "TLS1_2", "TLS1_0", "TLS1_1"]),
        "supportsHttpsTrafficOnly": ctx.rng.random() < 0.9,
        "publicNetworkAccess": "Enabled" if public or ctx.rng.random() < 0.5 else "Disabled",
        "networkAcls": {
            "bypass": "AzureServices",
            "defaultAction": "Allow" if public else ctx.rng.choice(["Allow", "Deny"]),
            "ipRules": [
                {"value": f"203.0.113.{ctx.rng.randrange(1, 255)}", "action": "Allow"}
                for _ in range(ctx.rng.randrange(0, 3))
            ],
            "virtualNetworkRules": [],
            "resourceAccessRules": [],
        },
        "encryption": {
            "keySource": "Microsoft.Storage",
            "requireInfrastructureEncryption": False,
            "services": {
                "blob": {"enabled": True, "keyType": "Account", "lastEnabledTime": created},
                "file": {"enabled": True, "keyType": "Account", "lastEnabledTime": created},
            },
        },
        "keyCreationTime": {"key1": created, "key2": created},
        "privateEndpointConnections": [],
        "dnsEndpointType": "Standard",
    }
    sku = {
        "name": ctx.rng.choice(["Standard_LRS", "Standard_GRS", "Standard_ZRS"]),
        "tier": "Standard",
    }
    return row(
        ctx,
        "Microsoft.Storage/storageAccounts",
        name,
        rid,
        properties,
        kind="StorageV2",
        sku=sku,
        identity=system_identity(ctx),
    )


def key_vault(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.KeyVault/vaults with soft delete and purge protection settings."""
    name, rid = naming.identity(ctx)
    rbac = ctx.rng.random() < 0.6
    access_policies = []
    if not rbac:
        access_policies.append(
            {
                "tenantId": ctx.tenant_id,
                "objectId": guid(ctx.rng),
                "permissions": {
                    "keys": ["Get", "List"],
                    "secrets": ["Get", "List", "Set"],
                    "certificates": [],
                },
            }
        )
    sku = {"family": "A", "name": ctx.rng.choice(["standard", "premium"])}
    disk_encryption = ctx.rng.random() < 0.3
    soft_delete = ctx.rng.random() < 0.95
    purge_protection = ctx.rng.random() < 0.5
    properties: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "sku": sku,
        "tenantId": ctx.tenant_id,
        "accessPolicies": access_policies,
        "enabledForDeployment": False,
        "enabledForDiskEncryption": disk_encryption,
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": soft_delete,
        "softDeleteRetentionInDays": 90,
        "enableRbacAuthorization": rbac,
        "vaultUri": f"https://{name}.vault.azure.net/",
        "publicNetworkAccess": ctx.rng.choice(["Enabled", "Disabled"]),
        "networkAcls": {
            "bypass": "AzureServices",
            "defaultAction": ctx.rng.choice(["Allow", "Deny"]),
            "ipRules": [],
            "virtualNetworkRules": [],
        },
    }
    if purge_protection:
        # Azure accepts only true (and it cannot be turned off again); "off" is absent.
        properties["enablePurgeProtection"] = True
    return row(ctx, "Microsoft.KeyVault/vaults", name, rid, properties)


def sql_server(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Sql/servers."""
    name, rid = naming.identity(ctx)
    properties = {
        "administratorLogin": "sqladmin",
        "version": "12.0",
        "state": "Ready",
        "fullyQualifiedDomainName": f"{name}.database.windows.net",
        "privateEndpointConnections": [],
        "minimalTlsVersion": ctx.rng.choice(["1.2", "1.2", "1.0", "1.1"]),
        "publicNetworkAccess": ctx.rng.choice(["Enabled", "Disabled"]),
        "restrictOutboundNetworkAccess": "Disabled",
        "administrators": {
            "administratorType": "ActiveDirectory",
            "principalType": "Group",
            "login": "sql-admins",
            "sid": guid(ctx.rng),
            "tenantId": ctx.tenant_id,
            "azureADOnlyAuthentication": ctx.rng.random() < 0.5,
        },
    }
    return row(ctx, "Microsoft.Sql/servers", name, rid, properties, kind="v12.0")


def sql_database(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Sql/servers/databases under the block's SQL server."""
    server = ctx.name("sql", layout.SQL_SERVER)
    name, rid = naming.identity(ctx)
    status = ctx.rng.choice(["Online", "Online", "Paused"])
    database_id = guid(ctx.rng)
    created = azure_time(ctx.rng)
    properties: dict[str, Any] = {
        "collation": "SQL_Latin1_General_CP1_CI_AS",
        "maxSizeBytes": 34359738368,
        "status": status,
        "databaseId": database_id,
        "creationDate": created,
        # Serverless databases report when they last paused and resumed (read-only).
        "pausedDate": created,
        "resumedDate": created,
        "earliestRestoreDate": created,
        "maxLogSizeBytes": 68719476736,
        "currentServiceObjectiveName": "GP_S_Gen5_1",
        "requestedServiceObjectiveName": "GP_S_Gen5_1",
        "defaultSecondaryLocation": "northeurope",
        "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
        "zoneRedundant": ctx.rng.random() < 0.3,
        "readScale": "Disabled",
        "currentBackupStorageRedundancy": ctx.rng.choice(["Geo", "Local", "Zone"]),
        "requestedBackupStorageRedundancy": "Geo",
        "isLedgerOn": False,
    }
    sku = {"name": "GP_S_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 1}
    return row(
        ctx,
        "Microsoft.Sql/servers/databases",
        name,
        rid,
        properties,
        kind="v12.0,user,vcore,serverless",
        sku=sku,
        managed_by=ctx.rid("Microsoft.Sql/servers", server),
    )
