"""The fixed block layout: every block of consecutive resource indexes holds these types.

Resources in one block share a subscription and resource group, so a VM can point at the
NIC, disk and subnet generated beside it without any lookup.
"""

VNET, NSG, PIP, NIC, DISK, VM = 0, 1, 2, 3, 4, 5
STORAGE, KEYVAULT, SQL_SERVER, SQL_DB, PLAN, SITE = 6, 7, 8, 9, 10, 11
NSG_2, STORAGE_2, ROLE_SUB, ROLE_RG, WORKSPACE, ACTION_GROUP, POLICY, SQL_DB_2 = range(12, 20)

BLOCK_SIZE = 20

PREFIX = {
    VNET: "vnet",
    NSG: "nsg",
    NSG_2: "nsg",
    PIP: "pip",
    NIC: "nic",
    DISK: "disk",
    VM: "vm",
    KEYVAULT: "kv",
    SQL_SERVER: "sql",
    SQL_DB: "sqldb",
    SQL_DB_2: "sqldb",
    PLAN: "plan",
    SITE: "app",
    WORKSPACE: "log",
    ACTION_GROUP: "ag",
    POLICY: "pa",
}
