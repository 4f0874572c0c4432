"""Background changes to random resources: the live demo of drift appearing in Azure."""

from __future__ import annotations

import copy
import random
import threading
from typing import Any

from .estate import Estate
from .shapes import volatility
from .state import SimState

CALLERS: list[Any] = [
    "alice@contoso.com",
    "bob.admin@contoso.com",
    "józef.kowalski@contoso.com",
    {"app_id": "9f1c2e4a-7d3b-4c8e-a1f0-5b6d7e8f9a0b", "ip": "198.51.100.20"},
]

# Share of mutations followed by a listKeys /action (Activity Log noise that changes nothing).
ACTION_CHANCE = 0.5

_RISKY_PORTS = ["22", "3389", "445", "1433", "*"]


def _open_nsg_port(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    row = estate.row(key)
    rules = list(row["properties"].get("securityRules") or [])
    port = rng.choice(_RISKY_PORTS)
    used = {r["properties"].get("priority") for r in rules}
    priority = next(p for p in range(300, 4096) if p not in used)
    name = f"Allow-{'Any' if port == '*' else port}-Internet-{priority}"
    rules.append(
        {
            "name": name,
            "id": f"{row['id']}/securityRules/{name}",
            "etag": row.get("etag", ""),
            "type": "Microsoft.Network/networkSecurityGroups/securityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "protocol": "Tcp",
                "sourcePortRange": "*",
                "destinationPortRange": port,
                "sourceAddressPrefix": "*",
                "destinationAddressPrefix": "*",
                "access": "Allow",
                "priority": priority,
                "direction": "Inbound",
                "sourcePortRanges": [],
                "destinationPortRanges": [],
                "sourceAddressPrefixes": [],
                "destinationAddressPrefixes": [],
            },
        }
    )
    return f"opened port {port} to the Internet", {"properties": {"securityRules": rules}}


def _toggle_storage(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    props = estate.row(key)["properties"]
    if rng.random() < 0.5:
        value = not props.get("allowBlobPublicAccess", False)
        return f"allowBlobPublicAccess -> {value}", {"properties": {"allowBlobPublicAccess": value}}
    tls = "TLS1_0" if props.get("minimumTlsVersion") == "TLS1_2" else "TLS1_2"
    return f"minimumTlsVersion -> {tls}", {"properties": {"minimumTlsVersion": tls}}


def _vault_access(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    current = estate.row(key)["properties"].get("publicNetworkAccess")
    access = "Disabled" if current == "Enabled" else "Enabled"
    return f"publicNetworkAccess -> {access}", {"properties": {"publicNetworkAccess": access}}


def _retag(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    env = rng.choice(["prod", "dev", "test", "staging", "sandbox"])
    return f"tag environment -> {env}", {"tags": {"environment": env, "lastChangedBy": "portal"}}


def _toggle(path: str, values: list[Any], label: str = "") -> Any:
    """A mutation that moves ``path`` (dotted, under the row) to another of ``values``:
    half the time towards the insecure value, half back to the secure one."""

    def change(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
        node: Any = estate.row(key)
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):  # e.g. a Linux setting on a Windows VM
            return _retag(estate, key, rng)
        current = node.get(parts[-1])
        value = rng.choice([v for v in values if v != current] or values)
        patch: dict[str, Any] = {}
        cursor = patch
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = value
        return f"{label or path} -> {value}", patch

    return change


def _purge_protection(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    # Azure only accepts true, and never turns it off again.
    return "enablePurgeProtection -> True", {"properties": {"enablePurgeProtection": True}}


def _attach_public_ip(estate: Estate, key: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    row = estate.row(key)
    configs = copy.deepcopy(row["properties"].get("ipConfigurations") or [])
    if not configs:
        return _retag(estate, key, rng)
    ip = configs[0].setdefault("properties", {})
    if ip.get("publicIPAddress"):
        ip.pop("publicIPAddress")
        return "public IP detached", {"properties": {"ipConfigurations": configs}}
    pip = row["id"].rsplit("/providers/", 1)[0] + "/providers/Microsoft.Network/publicIPAddresses/"
    ip["publicIPAddress"] = {"id": pip + "pip-" + row["name"]}
    return "public IP attached", {"properties": {"ipConfigurations": configs}}


_MUTATIONS = [
    ("microsoft.network/networksecuritygroups", _open_nsg_port),
    ("microsoft.storage/storageaccounts", _toggle_storage),
    ("microsoft.keyvault/vaults", _vault_access),
    (None, _retag),
    # Insecure and secure changes across the types the rule pack covers.
    ("microsoft.web/sites", _toggle("properties.httpsOnly", [True, False])),
    ("microsoft.web/sites", _toggle("properties.siteConfig.ftpsState", ["FtpsOnly", "AllAllowed"])),
    ("microsoft.sql/servers", _toggle("properties.publicNetworkAccess", ["Enabled", "Disabled"])),
    ("microsoft.sql/servers", _toggle("properties.minimalTlsVersion", ["1.2", "1.0"])),
    (
        "microsoft.compute/virtualmachines",
        _toggle(
            "properties.osProfile.linuxConfiguration.disablePasswordAuthentication", [True, False]
        ),
    ),
    ("microsoft.compute/disks", _toggle("properties.networkAccessPolicy", ["DenyAll", "AllowAll"])),
    ("microsoft.keyvault/vaults", _toggle("properties.enableRbacAuthorization", [True, False])),
    ("microsoft.keyvault/vaults", _purge_protection),
    (
        "microsoft.operationalinsights/workspaces",
        _toggle("properties.retentionInDays", [30, 90, 365]),
    ),
    ("microsoft.insights/actiongroups", _toggle("properties.enabled", [True, False])),
    (
        "microsoft.authorization/policyassignments",
        _toggle("properties.enforcementMode", ["Default", "DoNotEnforce"]),
    ),
    ("microsoft.network/networkinterfaces", _attach_public_ip),
    (
        "microsoft.sql/servers/databases",
        _toggle("properties.requestedBackupStorageRedundancy", ["Geo", "Local"]),
    ),
]


def _minimal_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that turns ``old`` into ``new`` when only values changed (a
    ``null`` in a merge patch deletes, so unchanged nulls must not be sent)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if value == before:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            patch[key] = _minimal_patch(before, value)
        else:
            patch[key] = value
    return patch


def churn_everything(state: SimState, rng: random.Random, tenant_id: str) -> int:
    """Churn the volatile properties of every resource of one tenant; returns how many
    resources changed (for tests and demos of "no false drift")."""
    estate = state.estate(tenant_id)
    if estate is None:
        return 0
    changed = 0
    for key in list(estate.sorted_keys()):
        row = estate.row(key)
        churned = volatility.churn(row, rng)
        if churned != row:
            estate.patch(key, _minimal_patch(row, churned))
            changed += 1
    return changed


def churn_volatile(
    state: SimState, rng: random.Random, tenant_id: str | None = None
) -> dict[str, Any] | None:
    """Give the read-only, self-changing properties (timestamps, run states, etags; see
    shapes.volatility) of one random resource new values, as Azure does on its own: no
    configuration change and no Activity Log event."""
    estates = [state.estate(tenant_id)] if tenant_id else state.estates()
    estates = [e for e in estates if e is not None]
    if not estates:
        return None
    estate = rng.choice(estates)
    key = estate.random_key(rng)
    if key is None:
        return None
    row = estate.row(key)
    changed = volatility.churn(row, rng)
    if changed == row:
        return None
    stored = estate.patch(key, _minimal_patch(row, changed))
    return {"tenant_id": estate.spec.tenant_id, "id": stored["id"], "change": "volatile churn"}


def mutate(
    state: SimState, rng: random.Random, tenant_id: str | None = None
) -> dict[str, Any] | None:
    """Change one random resource (of a random tenant unless given); return what changed."""
    estates = [state.estate(tenant_id)] if tenant_id else state.estates()
    estates = [e for e in estates if e is not None]
    if not estates:
        return None
    estate = rng.choice(estates)
    type_name, change = rng.choice(_MUTATIONS)
    key = estate.random_key(rng, type_name) or estate.random_key(rng)
    if key is None:
        return None
    if type_name is not None and estate.meta(key).type != type_name:  # type: ignore[union-attr]
        change = _retag
    summary, patch = change(estate, key, rng)
    caller = rng.choice(CALLERS)
    stored = state.modify_resource(key, patch, caller)
    result = {
        "tenant_id": estate.spec.tenant_id,
        "id": stored["id"],
        "change": summary,
        "caller": caller,
    }
    if rng.random() < ACTION_CHANCE:
        result["action"] = _read_keys(state, estate, key, rng)
    return result


def _read_keys(state: SimState, estate: Estate, changed: str, rng: random.Random) -> dict:
    """Someone lists a storage account's keys (a POST that changes nothing), preferably on
    the resource just changed: the newest event on it is then an /action by someone else."""
    meta = estate.meta(changed)
    key = changed
    if meta is None or meta.type != "microsoft.storage/storageaccounts":
        key = estate.random_key(rng, "microsoft.storage/storageaccounts") or changed
    caller = rng.choice(CALLERS)
    events = state.invoke_action(key, "listKeys", caller)
    return {"id": events[-1]["resourceId"], "operation": events[-1]["operationName"]["value"]}


class Mutator:
    """Applies :func:`mutate` every ``interval`` seconds on a daemon thread."""

    def __init__(
        self,
        state: SimState,
        interval: float,
        tenant_id: str | None = None,
        batch: int = 1,
        seed: int | None = None,
        churn: bool = True,
    ) -> None:
        self.state = state
        self.interval = max(0.05, float(interval))
        self.tenant_id = tenant_id
        self.batch = max(1, int(batch))
        self.rng = random.Random(seed)
        self.changes = 0
        self.churn = churn
        self.churned = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="azuresim-mutator", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait briefly for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def status(self) -> dict[str, Any]:
        """JSON-able state."""
        return {
            "running": self._thread.is_alive() and not self._stop.is_set(),
            "interval": self.interval,
            "tenant_id": self.tenant_id,
            "batch": self.batch,
            "changes": self.changes,
            "churn": self.churn,
            "churned": self.churned,
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for _ in range(self.batch):
                if mutate(self.state, self.rng, self.tenant_id) is not None:
                    self.changes += 1
                if self.churn and churn_volatile(self.state, self.rng, self.tenant_id):
                    self.churned += 1


def restart_mutator(state: Any, spec: dict[str, Any], default_interval: float) -> Mutator:
    """Stop the running mutator, if any, and start one from a JSON spec
    (``interval``, ``tenant_id``, ``batch``, ``seed``, ``churn``: also churn read-only
    volatile properties, default true); used by the config file and the control API."""
    if state.mutator is not None:
        state.mutator.stop()
    state.mutator = Mutator(
        state,
        float(spec.get("interval", default_interval)),
        spec.get("tenant_id"),
        int(spec.get("batch", 1)),
        spec.get("seed"),
        bool(spec.get("churn", True)),
    )
    state.mutator.start()
    return state.mutator
