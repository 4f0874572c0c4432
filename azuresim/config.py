"""The ``--config`` JSON file: options, tenants to register and an optional mutator.

Example::

    {
      "options": {"throttling": "enforce", "subscription_page_size": 50, "activity_lag": 15,
                  "policy_evaluation_seconds": 60},
      "tenants": [
        {"name": "Contoso", "tenant_id": "...", "client_id": "...", "client_secret": "...",
         "subscriptions": 3, "resources": 500, "seed": 1,
         "subscription_states": {"1": "Warned", "2": "Disabled"}}
      ],
      "mutator": {"interval": 30, "batch": 1, "seed": 7},
      "apps": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
                "optional_claims": ["email", "given_name", "family_name"]}],
      "users": [{"tenant_id": "...", "upn": "kim@contoso.onmicrosoft.com",
                 "email": "kim.lee@contoso.com", "given_name": "Kim", "family_name": "Lee"}]
    }
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .state import SimState
from .tenants import TenantSpec


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and minimally validate a config file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("tenants", []), list):
        raise ValueError(f"{path}: expected an object with a 'tenants' list")
    return data


def apply_config(state: SimState, config: dict[str, Any]) -> list[TenantSpec]:
    """Register the configured tenants and start the mutator if configured."""
    specs = [TenantSpec.from_dict(item) for item in config.get("tenants", [])]
    for spec in specs:
        state.register(spec)
    for app in config.get("apps", []):
        state.directory.register_app(
            app["client_id"],
            app["client_secret"],
            app.get("redirect_uris", []),
            app.get("optional_claims"),
        )
    for user in config.get("users", []):
        state.directory.add_user_from_dict(user)
    mutator = config.get("mutator")
    if mutator:
        from .mutator import restart_mutator

        restart_mutator(state, mutator, default_interval=30)
    return specs
