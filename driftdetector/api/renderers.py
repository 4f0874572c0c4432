"""DRF's JSON output, written by orjson.

``JSONRenderer`` runs ``json.dumps`` with DRF's encoder; on a list page of 50 that was
about half a millisecond of CPU, orjson takes a fifth of it. The bytes are DRF's own:

- compact separators, UTF-8 without ``\\u`` escapes, U+2028 / U+2029 escaped (DRF's
  settings ``COMPACT_JSON``, ``UNICODE_JSON``; anything else, or an ``indent``, goes to
  DRF's renderer);
- datetimes, dates, times, dataclasses and every type orjson does not know go through
  DRF's encoder (``default``), so a datetime keeps DRF's format;
- orjson refuses what it cannot write as DRF would (integers beyond 64 bits, keys that are
  not strings): DRF's renderer then writes the response;
- floats: orjson writes the shortest round-trip digits as Python does, but numbers below
  1e-4 differently (``1e-7`` against ``1e-07``, ``0.00001`` against ``1e-05``); output
  with such a number (a one-digit negative exponent, or ``0.0000`` starting a number) is
  written again by DRF's renderer (text inside a string that merely looks like one costs
  only that repeat). Both checks search for a literal first (about 15 us on a 50-row page).

One difference is left: a NaN or infinite float, which DRF refuses (``STRICT_JSON``; a
500), orjson writes as ``null``. jsonb cannot hold one, and the three float columns
(a poll run's duration and throttle wait, a fleet row's lag) are seconds the services
measure.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_DIGITS = frozenset(b"0123456789")
# A one-digit negative exponent; "1e-10" and beyond are written alike. A pattern that
# starts with a literal is searched fast (a digit class before it made the scan 20x slower).
_SHORT_EXPONENT = re.compile(rb"e-[0-9](?![0-9])")
_NUMBER_START = frozenset(b":,[-")


def _may_differ(out: bytes) -> bool:
    """Does ``out`` hold a number orjson may format unlike Python (below 1e-4)?"""
    for match in _SHORT_EXPONENT.finditer(out):  # "1e-7" (Python: "1e-07")
        if match.start() > 0 and out[match.start() - 1] in _DIGITS:
            return True
    at = out.find(b"0.0000")
    while at != -1:  # "0.00001" (Python: "1e-05")
        if at == 0 or out[at - 1] in _NUMBER_START:
            return True
        at = out.find(b"0.0000", at + 6)
    return False


class FastJSONRenderer(JSONRenderer):
    """``JSONRenderer`` with orjson for the default case (compact, UTF-8, no indent)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        renderer_context = renderer_context or {}
        if (
            self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        default = self.encoder_class().default
        try:
            out = orjson.dumps(data, default=default, option=_OPTIONS)
        except TypeError:  # an integer beyond 64 bits, a key that is not a string, ...
            return super().render(data, accepted_media_type, renderer_context)
        if _may_differ(out):
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:
            out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return out
