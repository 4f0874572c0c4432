"""Microsoft.Network shapes: virtual networks, NSGs, public IPs, network interfaces."""

from __future__ import annotations

from typing import Any

from . import layout, naming
from .common import GenContext, guid, row, weak_etag

_DEFAULT_RULES = [
    ("AllowVnetInBound", "Allow", "Inbound", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", "Allow", "Inbound", 65001, "AzureLoadBalancer", "*"),
    ("DenyAllInBound", "Deny", "Inbound", 65500, "*", "*"),
    ("AllowVnetOutBound", "Allow", "Outbound", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", "Allow", "Outbound", 65001, "*", "Internet"),
    ("DenyAllOutBound", "Deny", "Outbound", 65500, "*", "*"),
]

_CUSTOM_RULES = [
    ("AllowHttpsInbound", "Tcp", "443", "Internet"),
    ("AllowHttpInbound", "Tcp", "80", "Internet"),
    ("AllowSshFromCorp", "Tcp", "22", "10.20.0.0/16"),
    ("AllowRdpFromBastion", "Tcp", "3389", "10.30.1.0/24"),
    ("AllowSqlFromApp", "Tcp", "1433", "10.0.1.0/24"),
    ("AllowDnsUdp", "Udp", "53", "VirtualNetwork"),
]


def security_rule(
    nsg_id: str,
    name: str,
    etag: str,
    *,
    access: str,
    direction: str,
    priority: int,
    protocol: str = "*",
    source: str = "*",
    destination: str = "*",
    port: str = "*",
    default: bool = False,
) -> dict[str, Any]:
    """One securityRules / defaultSecurityRules entry in ARM's shape."""
    kind = "defaultSecurityRules" if default else "securityRules"
    return {
        "name": name,
        "id": f"{nsg_id}/{kind}/{name}",
        "etag": etag,
        "type": f"Microsoft.Network/networkSecurityGroups/{kind}",
        "properties": {
            "provisioningState": "Succeeded",
            "description": "" if not default else f"Default rule {name}",
            "protocol": protocol,
            "sourcePortRange": "*",
            "destinationPortRange": port,
            "sourceAddressPrefix": source,
            "destinationAddressPrefix": destination,
            "access": access,
            "priority": priority,
            "direction": direction,
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
        },
    }


def network_security_group(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Network/networkSecurityGroups with custom and default rules."""
    name, rid = naming.identity(ctx)
    etag = weak_etag(ctx.rng)
    count = ctx.rng.randrange(1, 5)
    chosen = ctx.rng.sample(_CUSTOM_RULES, count)
    rules = [
        security_rule(
            rid,
            rule_name,
            etag,
            access="Allow",
            direction="Inbound",
            priority=100 + 10 * n,
            protocol=protocol,
            source=source,
            port=port,
        )
        for n, (rule_name, protocol, port, source) in enumerate(chosen)
    ]
    defaults = [
        security_rule(
            rid,
            rule_name,
            etag,
            access=access,
            direction=direction,
            priority=priority,
            source=src,
            destination=dst,
            default=True,
        )
        for rule_name, access, direction, priority, src, dst in _DEFAULT_RULES
    ]
    subnet = ctx.rid("Microsoft.Network/virtualNetworks", ctx.name("vnet", layout.VNET))
    properties = {
        "provisioningState": "Succeeded",
        "resourceGuid": guid(ctx.rng),
        "securityRules": rules,
        "defaultSecurityRules": defaults,
        "subnets": [{"id": f"{subnet}/subnets/default"}],
    }
    return row(ctx, "Microsoft.Network/networkSecurityGroups", name, rid, properties, etag=etag)


def virtual_network(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Network/virtualNetworks with two or three subnets."""
    name, rid = naming.identity(ctx)
    etag = weak_etag(ctx.rng)
    second = ctx.rng.randrange(0, 250)
    nsg_id = ctx.rid("Microsoft.Network/networkSecurityGroups", ctx.name("nsg", layout.NSG))
    subnets = []
    for n, subnet_name in enumerate(["default", "app", "data"][: ctx.rng.randrange(2, 4)]):
        props: dict[str, Any] = {
            "provisioningState": "Succeeded",
            "addressPrefix": f"10.{second}.{n}.0/24",
            "delegations": [],
            "privateEndpointNetworkPolicies": ctx.rng.choice(["Disabled", "Enabled"]),
            "privateLinkServiceNetworkPolicies": "Enabled",
        }
        if n == 0:
            props["networkSecurityGroup"] = {"id": nsg_id}
        subnets.append(
            {
                "name": subnet_name,
                "id": f"{rid}/subnets/{subnet_name}",
                "etag": etag,
                "type": "Microsoft.Network/virtualNetworks/subnets",
                "properties": props,
            }
        )
    properties = {
        "provisioningState": "Succeeded",
        "resourceGuid": guid(ctx.rng),
        "addressSpace": {"addressPrefixes": [f"10.{second}.0.0/16"]},
        "subnets": subnets,
        "virtualNetworkPeerings": [],
        "enableDdosProtection": False,
    }
    return row(ctx, "Microsoft.Network/virtualNetworks", name, rid, properties, etag=etag)


def public_ip_address(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Network/publicIPAddresses (Standard, static)."""
    name, rid = naming.identity(ctx)
    nic_id = ctx.rid("Microsoft.Network/networkInterfaces", ctx.name("nic", layout.NIC))
    properties = {
        "provisioningState": "Succeeded",
        "resourceGuid": guid(ctx.rng),
        "ipAddress": f"20.{ctx.rng.randrange(1, 250)}.{ctx.rng.randrange(256)}."
        f"{ctx.rng.randrange(1, 255)}",
        "publicIPAddressVersion": "IPv4",
        "publicIPAllocationMethod": "Static",
        "idleTimeoutInMinutes": 4,
        "ipTags": [],
        "ipConfiguration": {"id": f"{nic_id}/ipConfigurations/ipconfig1"},
    }
    sku = {"name": "Standard", "tier": "Regional"}
    return row(
        ctx,
        "Microsoft.Network/publicIPAddresses",
        name,
        rid,
        properties,
        sku=sku,
        etag=weak_etag(ctx.rng),
        zones=["1", "2", "3"] if ctx.rng.random() < 0.5 else None,
    )


def network_interface(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Network/networkInterfaces attached to the block's VM, subnet and public IP."""
    name, rid = naming.identity(ctx)
    etag = weak_etag(ctx.rng)
    vnet_id = ctx.rid("Microsoft.Network/virtualNetworks", ctx.name("vnet", layout.VNET))
    pip_id = ctx.rid("Microsoft.Network/publicIPAddresses", ctx.name("pip", layout.PIP))
    vm_id = ctx.rid("Microsoft.Compute/virtualMachines", ctx.name("vm", layout.VM))
    ip_props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "privateIPAddress": f"10.{ctx.rng.randrange(250)}.0.{ctx.rng.randrange(4, 250)}",
        "privateIPAllocationMethod": "Dynamic",
        "subnet": {"id": f"{vnet_id}/subnets/default"},
        "primary": True,
        "privateIPAddressVersion": "IPv4",
    }
    if ctx.rng.random() < 0.4:
        ip_props["publicIPAddress"] = {"id": pip_id}
    properties = {
        "provisioningState": "Succeeded",
        "resourceGuid": guid(ctx.rng),
        "ipConfigurations": [
            {
                "name": "ipconfig1",
                "id": f"{rid}/ipConfigurations/ipconfig1",
                "etag": etag,
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": ip_props,
            }
        ],
        "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
        "macAddress": "00-0D-3A-" + "-".join(f"{ctx.rng.randrange(256):02X}" for _ in range(3)),
        "enableAcceleratedNetworking": ctx.rng.random() < 0.5,
        "enableIPForwarding": False,
        "vnetEncryptionSupported": False,
        "primary": True,
        "virtualMachine": {"id": vm_id},
        "nicType": "Standard",
    }
    return row(ctx, "Microsoft.Network/networkInterfaces", name, rid, properties, etag=etag)
