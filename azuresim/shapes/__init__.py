"""Deterministic Azure resource shapes, one builder per resource type.

:data:`BLOCK` lists the builder for each position of a block (see :mod:`.layout`);
:func:`table_for_type` names the Resource Graph table a resource type lives in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import compute, data, governance, layout, network, web
from .common import GenContext

Builder = Callable[[GenContext], dict[str, Any]]

BLOCK: dict[int, tuple[str, Builder]] = {
    layout.VNET: ("Microsoft.Network/virtualNetworks", network.virtual_network),
    layout.NSG: ("Microsoft.Network/networkSecurityGroups", network.network_security_group),
    layout.PIP: ("Microsoft.Network/publicIPAddresses", network.public_ip_address),
    layout.NIC: ("Microsoft.Network/networkInterfaces", network.network_interface),
    layout.DISK: ("Microsoft.Compute/disks", compute.managed_disk),
    layout.VM: ("Microsoft.Compute/virtualMachines", compute.virtual_machine),
    layout.STORAGE: ("Microsoft.Storage/storageAccounts", data.storage_account),
    layout.KEYVAULT: ("Microsoft.KeyVault/vaults", data.key_vault),
    layout.SQL_SERVER: ("Microsoft.Sql/servers", data.sql_server),
    layout.SQL_DB: ("Microsoft.Sql/servers/databases", data.sql_database),
    layout.PLAN: ("Microsoft.Web/serverFarms", web.server_farm),
    layout.SITE: ("Microsoft.Web/sites", web.web_site),
    layout.NSG_2: ("Microsoft.Network/networkSecurityGroups", network.network_security_group),
    layout.STORAGE_2: ("Microsoft.Storage/storageAccounts", data.storage_account),
    layout.ROLE_SUB: (
        "Microsoft.Authorization/roleAssignments",
        governance.role_assignment_subscription,
    ),
    layout.ROLE_RG: ("Microsoft.Authorization/roleAssignments", governance.role_assignment_group),
    layout.WORKSPACE: (
        "Microsoft.OperationalInsights/workspaces",
        governance.log_analytics_workspace,
    ),
    layout.ACTION_GROUP: ("Microsoft.Insights/actionGroups", governance.action_group),
    layout.POLICY: ("Microsoft.Authorization/policyAssignments", governance.policy_assignment),
    layout.SQL_DB_2: ("Microsoft.Sql/servers/databases", data.sql_database),
}

TABLES = ("resources", "resourcecontainers", "authorizationresources", "policyresources")


def table_for_type(type_name: str) -> str:
    """The Resource Graph table holding resources of ``type_name`` (case-insensitive)."""
    lowered = type_name.lower()
    if lowered.startswith("microsoft.resources/subscriptions"):
        return "resourcecontainers"
    if lowered.startswith("microsoft.authorization/policy") or lowered.startswith(
        "microsoft.policyinsights/"
    ):
        return "policyresources"
    if lowered.startswith("microsoft.authorization/"):
        return "authorizationresources"
    return "resources"


__all__ = ["BLOCK", "TABLES", "Builder", "GenContext", "layout", "table_for_type"]
