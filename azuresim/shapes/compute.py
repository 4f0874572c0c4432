"""Microsoft.Compute shapes: virtual machines and managed disks."""

from __future__ import annotations

from typing import Any

from . import layout, naming
from .common import GenContext, azure_time, guid, row, system_identity

_SIZES = ["Standard_B2s", "Standard_D2s_v5", "Standard_D4s_v5", "Standard_E4s_v5"]
_IMAGES = [
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "Linux"),
    ("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-azure-edition", "Windows"),
]


def _disk_name(ctx: GenContext) -> str:
    return ctx.name("disk", layout.DISK)


def managed_disk(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Compute/disks (an OS disk owned by the block's VM)."""
    name, rid = naming.identity(ctx)
    vm_id = ctx.rid("Microsoft.Compute/virtualMachines", ctx.name("vm", layout.VM))
    encrypted = ctx.rng.random() < 0.85
    properties = {
        "provisioningState": "Succeeded",
        "creationData": {"createOption": "FromImage"},
        "diskSizeGB": ctx.rng.choice([30, 64, 128, 256]),
        "diskIOPSReadWrite": 500,
        "diskMBpsReadWrite": 60,
        "encryption": {
            "type": "EncryptionAtRestWithPlatformKey"
            if encrypted
            else "EncryptionAtRestWithCustomerKey"
        },
        "networkAccessPolicy": ctx.rng.choice(["AllowAll", "DenyAll"]),
        "publicNetworkAccess": ctx.rng.choice(["Enabled", "Disabled"]),
        "timeCreated": azure_time(ctx.rng),
        "uniqueId": guid(ctx.rng),
        "diskState": "Attached",
        "diskSizeBytes": 0,
        "osType": "Linux",
        "hyperVGeneration": "V2",
    }
    properties["diskSizeBytes"] = properties["diskSizeGB"] * 1024**3
    properties["LastOwnershipUpdateTime"] = properties["timeCreated"]
    sku = {"name": ctx.rng.choice(["Premium_LRS", "StandardSSD_LRS"]), "tier": "Premium"}
    return row(ctx, "Microsoft.Compute/disks", name, rid, properties, sku=sku, managed_by=vm_id)


def virtual_machine(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Compute/virtualMachines referencing the block's NIC and OS disk."""
    name, rid = naming.identity(ctx)
    publisher, offer, image_sku, os_type = ctx.rng.choice(_IMAGES)
    nic_id = ctx.rid("Microsoft.Network/networkInterfaces", ctx.name("nic", layout.NIC))
    disk_id = ctx.rid("Microsoft.Compute/disks", _disk_name(ctx))
    os_profile: dict[str, Any] = {"computerName": name[:15], "adminUsername": "azureadmin"}
    if os_type == "Linux":
        os_profile["linuxConfiguration"] = {
            "disablePasswordAuthentication": ctx.rng.random() < 0.8,
            "provisionVMAgent": True,
        }
    else:
        os_profile["windowsConfiguration"] = {
            "provisionVMAgent": True,
            "enableAutomaticUpdates": ctx.rng.random() < 0.7,
        }
    properties = {
        "provisioningState": "Succeeded",
        "vmId": guid(ctx.rng),
        "hardwareProfile": {"vmSize": ctx.rng.choice(_SIZES)},
        "storageProfile": {
            "imageReference": {
                "publisher": publisher,
                "offer": offer,
                "sku": image_sku,
                "version": "latest",
            },
            "osDisk": {
                "osType": os_type,
                "name": _disk_name(ctx),
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {"storageAccountType": "Premium_LRS", "id": disk_id},
                "deleteOption": "Delete",
                "diskSizeGB": 64,
            },
            "dataDisks": [],
        },
        "osProfile": os_profile,
        "securityProfile": {
            "securityType": "TrustedLaunch",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        },
        "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": ctx.rng.random() < 0.6}},
        "extended": {
            "instanceView": {
                "powerState": {
                    "code": ctx.rng.choice(["PowerState/running", "PowerState/deallocated"]),
                    "level": "Info",
                    "displayStatus": "VM running",
                }
            }
        },
        "timeCreated": azure_time(ctx.rng),
    }
    return row(
        ctx,
        "Microsoft.Compute/virtualMachines",
        name,
        rid,
        properties,
        identity=system_identity(ctx),
        zones=[ctx.rng.choice(["1", "2", "3"])] if ctx.rng.random() < 0.5 else None,
    )
