"""The settings JSON documents are checked against their JSON Schemas."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tenants.defaults import default_settings
from tenants.validation import settings_errors, validate_settings


def test_shipped_defaults_are_valid():
    validate_settings(default_settings())


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "polling_settings",
            {"enabled": True, "interval_minutes": 0},
            "polling_settings.interval_minutes",
        ),
        ("polling_settings", {"enabled": True}, "'interval_minutes' is a required property"),
        ("polling_settings", [], "is not of type 'object'"),
        (
            "notification_settings",
            {"enabled": True, "channels": [{"type": "pager", "target": "x"}]},
            "notification_settings.channels[0].type",
        ),
        (
            "drift_thresholds",
            {"rules": [{"resource_type": "*", "path": "x", "severity": "urgent"}]},
            "drift_thresholds.rules[0].severity",
        ),
        ("drift_thresholds", {"surprise": 1}, "Additional properties are not allowed"),
    ],
)
def test_invalid_documents_name_the_bad_path(field, value, expected):
    errors = settings_errors(field, value)
    assert errors
    assert any(expected in message for message in errors), errors


def test_validate_settings_collects_errors_per_field():
    with pytest.raises(ValidationError) as excinfo:
        validate_settings({"polling_settings": {"enabled": 1}, "drift_thresholds": {"rules": "x"}})
    assert set(excinfo.value.message_dict) == {"polling_settings", "drift_thresholds"}
