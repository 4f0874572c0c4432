"""Shipped defaults: the MSP's settings, which every new tenant starts from."""

from __future__ import annotations

from typing import Any

DEFAULT_POLLING_SETTINGS: dict[str, Any] = {
    "enabled": True,
    "interval_minutes": 60,
    "watch_interval_seconds": 30,
    "page_size": 1000,
}
DEFAULT_NOTIFICATION_SETTINGS: dict[str, Any] = {
    "enabled": True,
    "min_severity": "high",
    "only_new_findings": True,
    "channels": [],
}
DEFAULT_DRIFT_THRESHOLDS: dict[str, Any] = {
    "use_default_rules": True,
    "rules": [],
    "escalation": {"changes_per_resource": 5, "severity": "high"},
    "flapping": {"changes": 4, "passes": 10},
}


def default_settings() -> dict[str, dict[str, Any]]:
    """Fresh copies of the shipped settings documents, keyed by Settings field."""
    import copy

    return copy.deepcopy(
        {
            "notification_settings": DEFAULT_NOTIFICATION_SETTINGS,
            "polling_settings": DEFAULT_POLLING_SETTINGS,
            "drift_thresholds": DEFAULT_DRIFT_THRESHOLDS,
        }
    )
