"""Validation of tenant identity fields and of the JSON settings documents.

Errors are raised as Django ``ValidationError`` with a dict keyed by field name, so the
admin, DRF serializers and the management command all show them next to the field.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator

SETTINGS_FIELDS = ("notification_settings", "polling_settings", "drift_thresholds")
_SCHEMA_DIR = Path(__file__).resolve().parent / "settings_schemas"

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,48}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "public",
        "information-schema",
        "information_schema",
        "tenant-template",
        "template",
        "default",
        "postgres",
        "admin",
        "api",
        "static",
    }
)


def schema_name_for_slug(slug: str) -> str:
    """PostgreSQL schema name of a tenant: its slug with hyphens as underscores."""
    return slug.replace("-", "_")


def validate_slug(slug: str) -> None:
    """Refuse slugs that are malformed or whose schema name PostgreSQL or we reserve."""
    if not SLUG_PATTERN.match(slug or ""):
        raise ValidationError(
            {
                "slug": "Use 3-50 characters: lower-case letters, digits and hyphens, "
                "starting with a letter and not ending with a hyphen."
            }
        )
    schema = schema_name_for_slug(slug)
    if slug in RESERVED_SLUGS or schema in RESERVED_SLUGS or schema.startswith("pg_"):
        raise ValidationError({"slug": f"'{slug}' is reserved; choose another slug."})


def normalise_guid(value: str, *, field: str) -> str:
    """Return the canonical lower-case GUID form, or raise an error on ``field``."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, AttributeError):
        raise ValidationError(
            {field: f"'{value}' is not a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47."}
        ) from None


def normalise_azure_tenant_id(value: str) -> str:
    """Return the canonical lower-case form of an Entra tenant id, or raise a field error."""
    return normalise_guid(value, field="azure_tenant_id")


@cache
def settings_validator(field: str) -> Draft202012Validator:
    """The compiled JSON Schema validator for one settings field."""
    schema = json.loads((_SCHEMA_DIR / f"{field}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def settings_errors(field: str, value: Any) -> list[str]:
    """Human-readable problems of ``value`` against the field's schema, with JSON paths."""
    validator = settings_validator(field)
    messages = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
        )
        messages.append(f"{field}{where}: {error.message}")
    if field == "drift_thresholds" and not messages:
        # The schema checks shapes; compiling the rules checks what it cannot: regular
        # expressions that do not compile or could backtrack catastrophically.
        from drift.severity import rule_problems

        messages.extend(f"{field}: {problem}" for problem in rule_problems(value))
    return messages


def validate_settings(values: dict[str, Any]) -> None:
    """Validate the given settings fields; raise one ValidationError listing each bad field."""
    errors = {field: settings_errors(field, value) for field, value in values.items()}
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)
