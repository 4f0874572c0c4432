"""Readable side-by-side diff of two normalised configurations (pure; no Django)."""

from __future__ import annotations

import difflib
import json
from typing import Any

MAX_LINES_FOR_HTML_DIFF = 5000


def pretty(config: Any) -> list[str]:
    """Indented, key-sorted JSON lines (stable, so diffs show only real changes)."""
    if config is None:
        return []
    return json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def side_by_side_html(
    previous: Any,
    new: Any,
    *,
    context_lines: int = 3,
    labels: tuple[str, str] = ("previous", "new"),
) -> str:
    """An HTML table of previous vs new with changed lines highlighted (difflib.HtmlDiff).

    Huge configs fall back to a unified diff in a <pre>, which stays fast and readable.
    """
    before, after = pretty(previous), pretty(new)
    if max(len(before), len(after)) > MAX_LINES_FOR_HTML_DIFF:
        from html import escape

        unified = difflib.unified_diff(
            before, after, labels[0], labels[1], lineterm="", n=context_lines
        )
        return f'<pre class="config-diff">{escape(chr(10).join(unified))}</pre>'
    # No wrapcolumn: the page wraps long lines itself (no ">" continuation markers).
    return difflib.HtmlDiff(tabsize=2).make_table(
        before, after, *labels, context=bool(before and after), numlines=context_lines
    )
