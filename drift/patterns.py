"""Bounded regular expressions for drift rules: validated when saved, linear when run.

Pure module (no Django). Rule paths, scopes and ``matches`` conditions come from
customers, so they are compiled with RE2 (google-re2), whose matching time is linear in
the input: no expression can hold a detection worker. Expressions are also refused when
they could not be carried to a backtracking engine safely (nested unbounded
quantifiers such as ``^([a-z.]+)+\\d$``), when RE2 cannot compile them (syntax errors,
backreferences, look-arounds) or when they are longer than :data:`MAX_PATTERN_LENGTH`.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own parser, used only to inspect the tree
from re._constants import MAXREPEAT
from typing import Any

import re2

MAX_PATTERN_LENGTH = 500
_REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT)


class PatternError(ValueError):
    """The expression is refused; the message says why in words a rule author can act on."""


def _options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    options.max_mem = 8 << 20
    return options


def _is_unbounded(max_count: int) -> bool:
    return max_count == MAXREPEAT or max_count > 100


def _nested_repeat(items: Any, inside_unbounded: bool) -> bool:
    for op, arg in items:
        if op in _REPEATS:
            _low, high, sub = arg
            unbounded = _is_unbounded(high)
            if unbounded and inside_unbounded:
                return True
            if _nested_repeat(sub, inside_unbounded or unbounded):
                return True
        elif op is sre_parse.SUBPATTERN:
            if _nested_repeat(arg[-1], inside_unbounded):
                return True
        elif op is sre_parse.BRANCH:
            if any(_nested_repeat(branch, inside_unbounded) for branch in arg[1]):
                return True
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT) and _nested_repeat(
            arg[1], inside_unbounded
        ):
            return True
    return False


def check_pattern(text: Any) -> None:
    """Raise PatternError unless ``text`` is an expression rules may use."""
    if not isinstance(text, str):
        raise PatternError("must be a string")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        re2.compile(text, options=_options(False))
    except re2.error as exc:
        message = exc.args[0] if exc.args else str(exc)
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise PatternError(f"is not a valid regular expression: {message}") from None
    try:
        parsed = sre_parse.parse(text)
    except re.error:
        return  # RE2 syntax Python does not know; RE2 runs it in linear time anyway.
    if _nested_repeat(parsed, False):
        raise PatternError(
            "nests one unbounded repetition inside another (such as (a+)+), which "
            "backtracks catastrophically; write it with a single repetition"
        )


def compile_pattern(text: str, *, ignore_case: bool = False) -> Any:
    """The RE2 compiled form of an expression that passed :func:`check_pattern`."""
    check_pattern(text)
    return re2.compile(text, options=_options(ignore_case))
