"""Microsoft.Web shapes: App Service plans and web apps."""

from __future__ import annotations

from typing import Any

from . import layout, naming
from .common import GenContext, row, system_identity


def server_farm(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Web/serverFarms (an App Service plan)."""
    name, rid = naming.identity(ctx)
    linux = ctx.rng.random() < 0.6
    properties = {
        "serverFarmId": ctx.rng.randrange(10_000, 99_999),
        "name": name,
        "workerSize": "Default",
        "workerSizeId": 0,
        "currentWorkerSize": "Default",
        "maximumNumberOfWorkers": 30,
        "status": "Ready",
        "numberOfSites": 1,
        "reserved": linux,
        "zoneRedundant": False,
        "perSiteScaling": False,
        "elasticScaleEnabled": False,
        "kind": "linux" if linux else "app",
        "provisioningState": "Succeeded",
    }
    sku = {"name": "P1v3", "tier": "PremiumV3", "size": "P1v3", "family": "Pv3", "capacity": 1}
    return row(
        ctx,
        "Microsoft.Web/serverFarms",
        name,
        rid,
        properties,
        kind="linux" if linux else "app",
        sku=sku,
    )


def web_site(ctx: GenContext) -> dict[str, Any]:
    """Microsoft.Web/sites on the block's plan, with HTTPS/TLS settings."""
    name, rid = naming.identity(ctx)
    plan_id = ctx.rid("Microsoft.Web/serverfarms", ctx.name("plan", layout.PLAN))
    properties = {
        "name": name,
        "state": ctx.rng.choice(["Running", "Running", "Stopped"]),
        "hostNames": [f"{name}.azurewebsites.net"],
        "enabledHostNames": [f"{name}.azurewebsites.net", f"{name}.scm.azurewebsites.net"],
        "serverFarmId": plan_id,
        "httpsOnly": ctx.rng.random() < 0.8,
        "clientCertEnabled": ctx.rng.random() < 0.2,
        "publicNetworkAccess": ctx.rng.choice(["Enabled", "Disabled"]),
        "siteConfig": {
            "minTlsVersion": ctx.rng.choice(["1.2", "1.2", "1.0"]),
            "ftpsState": ctx.rng.choice(["FtpsOnly", "Disabled", "AllAllowed"]),
            "http20Enabled": ctx.rng.random() < 0.5,
            "alwaysOn": True,
            "linuxFxVersion": "PYTHON|3.11",
        },
        "defaultHostName": f"{name}.azurewebsites.net",
        "availabilityState": "Normal",
        "usageState": "Normal",
        "lastModifiedTimeUtc": "2024-03-01T10:00:00.0000000Z",
    }
    return row(
        ctx,
        "Microsoft.Web/sites",
        name,
        rid,
        properties,
        kind="app,linux",
        identity=system_identity(ctx),
    )
