"""What a finding page shows first: the resource's parts of its ARM id and the changed
path with its enclosing object, before and after. Pure module (no Django)."""

from __future__ import annotations

import re
from typing import Any

_INDEX = re.compile(r"\[(\d+)\]")


def arm_parts(resource_id: str) -> dict[str, str]:
    """Subscription id, resource group, name and short type of an ARM resource id.

    ``/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg``
    gives name ``nsg``, short type ``networkSecurityGroups``; a subscription or resource
    group id gives its own id or name.
    """
    parts = [p for p in resource_id.split("/") if p]
    lower = [p.lower() for p in parts]
    found = {
        "subscription_id": "",
        "resource_group": "",
        "name": parts[-1] if parts else "",
        "short_type": "",
    }
    if len(lower) > 1 and lower[0] == "subscriptions":
        found["subscription_id"] = parts[1]
        found["short_type"] = "subscription"
    if "resourcegroups" in lower:
        at = lower.index("resourcegroups")
        if at + 1 < len(parts):
            found["resource_group"] = parts[at + 1]
            found["short_type"] = "resource group"
    if "providers" in lower:
        tail = parts[lower.index("providers") + 1 :]
        # namespace, then type/name pairs: the short type is the last type segment.
        types = tail[1::2]
        if types:
            found["short_type"] = types[-1] if len(types) == 1 else "/".join(types)
    return found


def split_path(dotted: str, config: Any) -> list[str | int]:
    """The parts of a dotted finding path, matched against ``config``'s keys so that a
    key containing dots (``"10.0.0.0/24"``) stays one part."""
    tokens: list[str | int] = []
    for piece in dotted.split("."):
        head, *rest = _INDEX.split(piece)
        if head:
            tokens.append(head)
        tokens.extend(int(item) for item in rest if item.isdigit())
    parts: list[str | int] = []
    node = config
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if isinstance(node, dict) and isinstance(token, str) and token not in node:
            # Join following string tokens until a key matches (keys with dots).
            for j in range(i + 2, len(tokens) + 1):
                if all(isinstance(t, str) for t in tokens[i:j]):
                    joined = ".".join(str(t) for t in tokens[i:j])
                    if joined in node:
                        token, i = joined, j - 1
                        break
        parts.append(token)
        node = _child(node, token)
        i += 1
    return parts


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _get(config: Any, parts: list[str | int]) -> tuple[bool, Any]:
    node = config
    for part in parts:
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            return False, None
    return True, node


def focus(dotted: str, before: Any, after: Any) -> dict[str, Any]:
    """The enclosing object of the changed path on both sides.

    A changed scalar is shown inside the object that holds it (a rule's ``access`` within
    the rule); a changed object (an added rule) is shown whole. ``scope`` is the dotted
    path of what is shown; a side where it does not exist is None.
    """
    parts = split_path(dotted, after if after is not None else before) if dotted else []
    _, leaf_before = _get(before, parts)
    found_after, leaf_after = _get(after, parts)
    leaf = leaf_after if found_after else leaf_before
    scope = parts if isinstance(leaf, dict | list) or not parts else parts[:-1]
    # Show the named object (a rule) rather than its ``properties`` bag alone.
    if scope and scope[-1] == "properties" and len(scope) > 1:
        scope = scope[:-1]
    ok_before, shown_before = _get(before, scope)
    ok_after, shown_after = _get(after, scope)
    text = ""
    for part in scope:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return {
        "scope": text or "(whole resource)",
        "before": shown_before if ok_before else None,
        "after": shown_after if ok_after else None,
        "leaf": parts[-1] if parts else "",
    }


def line_diff(before: Any, after: Any) -> list[tuple[str, str]]:
    """Every line of both sides as (``" "`` same, ``"-"`` only before, ``"+"`` only after),
    for a small focused object; difflib's ``?`` hint lines are dropped."""
    import difflib
    import json

    def lines(value: Any) -> list[str]:
        if value is None:
            return []
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    out = []
    for line in difflib.ndiff(lines(before), lines(after)):
        tag = line[:1]
        if tag in (" ", "-", "+"):
            out.append((tag, line[2:]))
    return out


# Microsoft's first-party application ids that show up as callers (published app ids).
FIRST_PARTY_APPS = {
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Azure CLI",
    "1950a258-227b-4e31-a9cf-717495945fc2": "Azure PowerShell",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure portal",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013": "Azure Resource Manager",
}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def principal_label(caller: str, known_apps: dict[str, str] | None = None) -> tuple[str, str]:
    """(what to show, tooltip) for a finding's ``changed_by``.

    A user's UPN (from the Activity Log claims) is shown as is; an application id is
    named when it is a first-party app or one of the MSP's own credentials, else shown
    as "app 1a2b3c4d…"; the full value is always the tooltip.
    """
    caller = caller or "unknown"
    if not _GUID.match(caller):
        return caller, caller
    key = caller.lower()
    name = (known_apps or {}).get(key) or FIRST_PARTY_APPS.get(key)
    if name:
        return f"{name} (app)", caller
    return f"app {key[:8]}…", caller
