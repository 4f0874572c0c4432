"""Names and ids of generated resources, computable without building the resource.

The estate index needs every id (to sort and page by id) but not every body, so ids come
from here and the builders use the same function: one source of truth.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

from . import layout
from .common import GenContext

Identity = tuple[str, str]


def stable_guid(ctx: GenContext, salt: str) -> str:
    """A GUID derived from the tenant token and resource index only."""
    digest = hashlib.blake2b(f"{ctx.token}:{ctx.index}:{salt}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def _simple(prefix: str, provider_type: str) -> Callable[[GenContext], Identity]:
    def identity(ctx: GenContext) -> Identity:
        name = ctx.name(prefix)
        return name, ctx.rid(provider_type, name)

    return identity


def _storage(ctx: GenContext) -> Identity:
    name = f"st{ctx.token}{ctx.index:06d}"
    return name, ctx.rid("Microsoft.Storage/storageAccounts", name)


def _key_vault(ctx: GenContext) -> Identity:
    name = ctx.name("kv")[:24]
    return name, ctx.rid("Microsoft.KeyVault/vaults", name)


def _sql_db(ctx: GenContext) -> Identity:
    server = ctx.name("sql", layout.SQL_SERVER)
    name = ctx.name("sqldb")
    return name, ctx.rid("Microsoft.Sql/servers", server) + f"/databases/{name}"


def _role_sub(ctx: GenContext) -> Identity:
    name = stable_guid(ctx, "ra")
    scope = f"/subscriptions/{ctx.subscription_id}"
    return name, f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def _role_rg(ctx: GenContext) -> Identity:
    name = stable_guid(ctx, "ra")
    return name, f"{ctx.rg_id()}/providers/Microsoft.Authorization/roleAssignments/{name}"


def _workspace(ctx: GenContext) -> Identity:
    name = ctx.name("log")
    rid = (
        f"/subscriptions/{ctx.subscription_id}/resourcegroups/{ctx.resource_group.lower()}"
        f"/providers/microsoft.operationalinsights/workspaces/{name}"
    )
    return name, rid


def _policy(ctx: GenContext) -> Identity:
    name = ctx.name("pa").replace("-", "")[:24]
    return name, f"{ctx.rg_id()}/providers/Microsoft.Authorization/policyAssignments/{name}"


_IDENTITIES: dict[int, Callable[[GenContext], Identity]] = {
    layout.VNET: _simple("vnet", "Microsoft.Network/virtualNetworks"),
    layout.NSG: _simple("nsg", "Microsoft.Network/networkSecurityGroups"),
    layout.NSG_2: _simple("nsg", "Microsoft.Network/networkSecurityGroups"),
    layout.PIP: _simple("pip", "Microsoft.Network/publicIPAddresses"),
    layout.NIC: _simple("nic", "Microsoft.Network/networkInterfaces"),
    layout.DISK: _simple("disk", "Microsoft.Compute/disks"),
    layout.VM: _simple("vm", "Microsoft.Compute/virtualMachines"),
    layout.STORAGE: _storage,
    layout.STORAGE_2: _storage,
    layout.KEYVAULT: _key_vault,
    layout.SQL_SERVER: _simple("sql", "Microsoft.Sql/servers"),
    layout.SQL_DB: _sql_db,
    layout.SQL_DB_2: _sql_db,
    layout.PLAN: _simple("plan", "Microsoft.Web/serverfarms"),
    layout.SITE: _simple("app", "Microsoft.Web/sites"),
    layout.ROLE_SUB: _role_sub,
    layout.ROLE_RG: _role_rg,
    layout.WORKSPACE: _workspace,
    layout.ACTION_GROUP: _simple("ag", "microsoft.insights/actionGroups"),
    layout.POLICY: _policy,
}


def identity(ctx: GenContext) -> Identity:
    """``(name, id)`` of the resource ``ctx`` describes."""
    return _IDENTITIES[ctx.index - ctx.block_start](ctx)
