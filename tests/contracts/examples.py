"""Fixtures written from Azure's own REST examples (Azure/azure-rest-api-specs).

Not copies: each keeps the fields, JSON types and casing of the example it names, with our
own values, so a test can hold the product's parsers and the simulator's answers to them.

- Resource Graph ``POST /providers/Microsoft.ResourceGraph/resources`` (api 2021-03-01):
  ``specification/resourcegraph/resource-manager/Microsoft.ResourceGraph/stable/2021-03-01/
  examples/ResourcesBasicQuery.json`` and ``.../preview/2021-06-01-preview/examples/
  ResourcesNextPageQuery.json``; the ``ErrorResponse`` / ``ErrorDetails`` definitions of
  ``resourcegraph.json`` (details carry code + message and may carry more properties).
- Subscriptions ``GET /subscriptions`` (api 2022-12-01): ``specification/resources/
  resource-manager/Microsoft.Resources/stable/2022-12-01/examples/GetSubscriptions.json``.
"""

from __future__ import annotations

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
TENANT = "9a5b0c1e-2d3f-4a6b-8c7d-0e1f2a3b4c5d"

# ResourcesBasicQuery: "Resources | project id, name, type, location, tags | limit 3"
RESOURCES_BASIC_REQUEST = {
    "subscriptions": [SUB],
    "query": "Resources | project id, name, type, location, tags | limit 3",
}
RESOURCES_BASIC_RESPONSE = {
    "totalRecords": 2,
    "count": 2,
    "resultTruncated": "false",
    "facets": [],
    "data": [
        {
            "id": f"/subscriptions/{SUB}/resourceGroups/RG-A/providers/Microsoft.Network/"
            "networkInterfaces/nic-a",
            "name": "nic-a",
            "type": "microsoft.network/networkinterfaces",
            "location": "westeurope",
            "tags": {"team": "blue"},
        },
        {
            "id": f"/subscriptions/{SUB}/resourceGroups/RG-B/providers/Microsoft.Network/"
            "virtualNetworks/vnet-b",
            "name": "vnet-b",
            "type": "microsoft.network/virtualnetworks",
            "location": "northeurope",
            "tags": {},
        },
    ],
}

# ResourcesNextPageQuery: a page that is not the last carries "$skipToken" beside the rest.
RESOURCES_NEXT_PAGE_RESPONSE = {
    "totalRecords": 40,
    "count": 1,
    "resultTruncated": "false",
    "facets": [],
    "$skipToken": "eyAic29tZSI6ICJwYWdlIiB9",
    "data": [
        {
            "id": f"/subscriptions/{SUB}/resourceGroups/RG-A/providers/Microsoft.Compute/"
            "disks/disk-a",
            "name": "disk-a",
            "type": "microsoft.compute/disks",
            "location": "westeurope",
        }
    ],
}

# ErrorResponse of resourcegraph.json, as Resource Graph fills it for a refused query.
RESOURCES_ERROR_RESPONSE = {
    "error": {
        "code": "BadRequest",
        "message": "Please provide below info when asking for support: timestamp = "
        "2026-01-01T00:00:00.0000000Z, correlationId = 11111111-2222-3333-4444-555555555555.",
        "details": [
            {
                "code": "InvalidQuery",
                "message": "Query is invalid. Please refer to the documentation for the Azure "
                "Resource Graph service and fix the error before retrying.",
            },
            {"code": "ParserFailure", "message": "ParserFailure", "line": 1, "token": "|"},
        ],
    }
}

# GetSubscriptions (2022-12-01), one item; "nextLink" is present when more pages follow.
SUBSCRIPTIONS_LIST_RESPONSE = {
    "value": [
        {
            "id": f"/subscriptions/{SUB}",
            "subscriptionId": SUB,
            "tenantId": TENANT,
            "displayName": "Contoso Production",
            "state": "Warned",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
            "authorizationSource": "RoleBased",
            "managedByTenants": [{"tenantId": "f0e1d2c3-b4a5-4968-8776-655443322110"}],
            "tags": {"costCenter": "42"},
        }
    ],
    "nextLink": "https://management.azure.com/subscriptions?api-version=2022-12-01&"
    "%24skiptoken=abc",
}

# SubscriptionState of subscriptions.json.
SUBSCRIPTION_STATES = ("Enabled", "Warned", "PastDue", "Disabled", "Deleted")


def shape(value: object) -> object:
    """The JSON shape of a value: dict keys (case kept) to shapes, lists to the merged shape
    of their items, scalars to their JSON type name."""
    if isinstance(value, dict):
        # Tag names are data, not schema: a tags bag is just an object.
        return {
            key: "object" if key == "tags" and isinstance(item, dict) else shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        merged: dict = {}
        kinds = set()
        for item in value:
            item_shape = shape(item)
            if isinstance(item_shape, dict):
                merged.update(item_shape)
            else:
                kinds.add(item_shape)
        return [merged] if merged else sorted(kinds)
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def missing(expected: object, actual: object, path: str = "$") -> list[str]:
    """Where ``actual`` lacks a field of ``expected`` or has it with another JSON type.

    Extra fields in ``actual`` are allowed (Azure adds fields over time); an empty list in
    either says nothing about its items.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: object expected, got {actual}"]
        problems = []
        for key, sub in expected.items():
            if key not in actual:
                near = [k for k in actual if k.lower() == key.lower()]
                hint = f" (found {near[0]!r}: casing differs)" if near else ""
                problems.append(f"{path}.{key}: missing{hint}")
            else:
                problems.extend(missing(sub, actual[key], f"{path}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: array expected, got {actual}"]
        if expected and actual and isinstance(expected[0], dict):
            return missing(expected[0], actual[0], f"{path}[]")
        return []
    if expected != actual and "null" not in (expected, actual):
        return [f"{path}: {expected} expected, got {actual}"]
    return []
