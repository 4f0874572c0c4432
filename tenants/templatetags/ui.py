"""Template filters for pages: JSON shown as JSON (never a Python repr)."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON; ``None`` as "(absent)"."""
    if value is None:
        return "(absent)"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
