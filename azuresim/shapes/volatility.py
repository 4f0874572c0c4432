"""Read-only properties that Azure changes by itself, per simulated resource type.

Taken from the Azure REST API specs (``readOnly: true`` in Azure/azure-rest-api-specs,
the file named per type): timestamps, run states, status fields and etags that move
without anyone changing the configuration. The mutator churns them (``churn``) so the
product's "no false drift" tests exercise real volatility instead of confirming its own
rules file. Paths are dotted; ``*`` is every item of a list (or every value of an
object). Each entry says how a new value is made: ``time``, ``etag``, ``mac``, ``int``
or a list of values Azure reports.
"""

from __future__ import annotations

import copy
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

Volatile = dict[str, Any]

STATES = ["Succeeded", "Updating", "Succeeded"]

#: lower-cased type -> (spec file, {path: how to make a new value})
READ_ONLY_VOLATILE: dict[str, tuple[str, Volatile]] = {
    "microsoft.network/virtualnetworks": (
        "network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json",
        {
            "etag": "etag",
            "properties.provisioningState": STATES,
            "properties.subnets.*.etag": "etag",
            "properties.subnets.*.properties.provisioningState": STATES,
        },
    ),
    "microsoft.network/networksecuritygroups": (
        "network/resource-manager/Microsoft.Network/stable/2024-05-01/networkSecurityGroup.json",
        {
            "etag": "etag",
            "properties.provisioningState": STATES,
            "properties.securityRules.*.etag": "etag",
            "properties.securityRules.*.properties.provisioningState": STATES,
            "properties.defaultSecurityRules.*.etag": "etag",
        },
    ),
    "microsoft.network/publicipaddresses": (
        "network/resource-manager/Microsoft.Network/stable/2024-05-01/publicIpAddress.json",
        {"etag": "etag", "properties.provisioningState": STATES},
    ),
    "microsoft.network/networkinterfaces": (
        "network/resource-manager/Microsoft.Network/stable/2024-05-01/networkInterface.json",
        {
            "etag": "etag",
            "properties.provisioningState": STATES,
            "properties.macAddress": "mac",
            "properties.vnetEncryptionSupported": [False, True],
            "properties.ipConfigurations.*.etag": "etag",
            "properties.ipConfigurations.*.properties.provisioningState": STATES,
        },
    ),
    "microsoft.compute/disks": (
        "compute/resource-manager/Microsoft.Compute/DiskRP/stable/2024-03-02/disk.json",
        {
            "properties.diskState": ["Attached", "Reserved", "ActiveSAS", "Attached"],
            "properties.LastOwnershipUpdateTime": "time",
            "properties.provisioningState": STATES,
        },
    ),
    "microsoft.compute/virtualmachines": (
        "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachine.json",
        {
            "properties.provisioningState": STATES,
            "properties.extended.instanceView.powerState.code": [
                "PowerState/running",
                "PowerState/stopped",
                "PowerState/deallocated",
            ],
        },
    ),
    "microsoft.storage/storageaccounts": (
        "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json",
        {
            "properties.provisioningState": ["Succeeded", "ResolvingDNS", "Succeeded"],
            "properties.statusOfPrimary": ["available", "unavailable", "available"],
            "properties.lastGeoFailoverTime": "time",
            "properties.keyCreationTime.key1": "time",
            "properties.encryption.services.*.lastEnabledTime": "time",
        },
    ),
    "microsoft.keyvault/vaults": (
        "keyvault/resource-manager/Microsoft.KeyVault/stable/2023-07-01/keyvault.json",
        {"properties.provisioningState": ["Succeeded", "RegisteringDns", "Succeeded"]},
    ),
    "microsoft.sql/servers": (
        "sql/resource-manager/Microsoft.Sql/stable/2023-08-01/Servers.json",
        {"properties.state": ["Ready", "Ready", "Disabled"]},
    ),
    "microsoft.sql/servers/databases": (
        "sql/resource-manager/Microsoft.Sql/stable/2023-08-01/Databases.json",
        {
            "properties.status": ["Online", "Paused", "Pausing", "Resuming"],
            "properties.pausedDate": "time",
            "properties.resumedDate": "time",
            "properties.earliestRestoreDate": "time",
            "properties.currentServiceObjectiveName": ["GP_S_Gen5_1", "GP_S_Gen5_2"],
            "properties.currentBackupStorageRedundancy": ["Geo", "Local", "Zone"],
            "properties.maxLogSizeBytes": "int",
        },
    ),
    "microsoft.web/serverfarms": (
        "web/resource-manager/Microsoft.Web/stable/2023-12-01/AppServicePlans.json",
        {
            "properties.status": ["Ready", "Pending", "Ready"],
            "properties.numberOfSites": "int",
            "properties.provisioningState": STATES,
        },
    ),
    "microsoft.web/sites": (
        "web/resource-manager/Microsoft.Web/stable/2023-12-01/WebApps.json",
        {
            "properties.state": ["Running", "Stopped"],
            "properties.usageState": ["Normal", "Exceeded"],
            "properties.availabilityState": ["Normal", "Limited", "DisasterRecoveryMode"],
            "properties.lastModifiedTimeUtc": "time",
        },
    ),
    "microsoft.authorization/roleassignments": (
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
        "authorization-RoleAssignmentsCalls.json",
        {"properties.updatedOn": "time", "properties.updatedBy": "guid"},
    ),
    "microsoft.operationalinsights/workspaces": (
        "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/"
        "Workspaces.json",
        {
            "properties.provisioningState": STATES,
            "properties.modifiedDate": "time",
            "properties.sku.lastSkuUpdate": "time",
            "properties.workspaceCapping.quotaNextResetTime": "time",
            "properties.workspaceCapping.dataIngestionStatus": [
                "RespectQuota",
                "ApproachingQuota",
                "RespectQuota",
            ],
        },
    ),
    "microsoft.insights/actiongroups": (
        "monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json",
        {"properties.emailReceivers.*.status": ["Enabled", "NotSpecified", "Enabled"]},
    ),
    "microsoft.authorization/policyassignments": (
        "policy/resource-manager/Microsoft.Authorization/stable/2023-04-01/policyAssignments.json"
        " (no read-only property that moves on its own in the Resource Graph row)",
        {},
    ),
}


def _new_value(how: Any, old: Any, rng: random.Random) -> Any:
    if isinstance(how, list):
        others = [v for v in how if v != old]
        return rng.choice(others or how)
    if how == "time":
        moment = datetime.now(UTC) - timedelta(seconds=rng.randrange(86400))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(10_000_000):07d}Z"
    if how == "etag":
        return f'W/"{uuid.UUID(int=rng.getrandbits(128), version=4)}"'
    if how == "guid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if how == "mac":
        return "-".join(f"{rng.randrange(256):02X}" for _ in range(6))
    if how == "int":
        return rng.randrange(1, 1 << 40)
    raise ValueError(f"unknown volatility kind {how!r}")


def _set_path(node: Any, parts: list[str], how: Any, rng: random.Random) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = node if isinstance(node, list) else list(node.values())
        for item in items:
            _set_path(item, rest, how, rng)
        return
    if not isinstance(node, dict):
        return
    if not rest:
        if head in node:
            node[head] = _new_value(how, node[head], rng)
        return
    if isinstance(node.get(head), dict | list):
        _set_path(node[head], rest, how, rng)


def volatile_paths(type_name: str) -> tuple[str, ...]:
    """The spec's read-only, self-changing paths of ``type_name`` (case-insensitive)."""
    entry = READ_ONLY_VOLATILE.get(type_name.lower())
    return tuple(entry[1]) if entry else ()


def churn(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of ``row`` with every volatile property it carries given a new value."""
    changed = copy.deepcopy(row)
    entry = READ_ONLY_VOLATILE.get(str(row.get("type", "")).lower())
    for path, how in (entry[1] if entry else {}).items():
        _set_path(changed, path.split("."), how, rng)
    return changed
