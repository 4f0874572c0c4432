"""JSON parser that refuses what the database or the process cannot take.

Nesting deeper than ``MAX_DEPTH`` (a 1,000-deep document used to exhaust the recursion
limit: a 500) and NUL characters in any string or key (PostgreSQL's jsonb refuses them)
are a 400 before any view sees the body.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def check_document(value: Any) -> None:
    """Raise ParseError when ``value`` nests deeper than MAX_DEPTH or holds a NUL."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON nests deeper than {MAX_DEPTH} levels.")
        if isinstance(item, str):
            if "\x00" in item:
                raise ParseError("JSON strings may not contain NUL (\\u0000).")
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise ParseError("JSON keys may not contain NUL (\\u0000).")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON nests deeper than {MAX_DEPTH} levels.") from exc
        check_document(data)
        return data
