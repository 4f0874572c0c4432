"""Accepted deviations (exceptions) and flapping, as pure functions (no Django).

An exception suppresses a change only while the change's new value equals the accepted
value and the exception has not expired. Flapping counts, per resource path, the recent
detection passes in which its drift opened, changed value or resolved.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_GLOB_SPECIAL = re.compile(r"([*?\[])")

DEFAULT_FLAPPING_CHANGES = 3
DEFAULT_FLAPPING_PASSES = 10


def glob_escape(text: str) -> str:
    """``text`` as a glob that matches only itself (paths contain ``[0]`` list indices)."""
    return _GLOB_SPECIAL.sub(r"[\1]", text)


@dataclass(frozen=True)
class AcceptedDeviation:
    """One exception as the matcher needs it."""

    id: int
    resource_pattern: str
    path_pattern: str
    accepted_value: Any
    expires_at: datetime


class ExceptionMatcher:
    """Finds the unexpired exception that covers a (resource, path, new value), if any."""

    def __init__(self, exceptions: Iterable[AcceptedDeviation], now: datetime) -> None:
        self._live = [e for e in exceptions if e.expires_at > now]

    def __bool__(self) -> bool:
        return bool(self._live)

    def match(self, resource_id: str, path: str, value: Any) -> AcceptedDeviation | None:
        """The first live exception whose patterns match and whose value equals ``value``."""
        rid = resource_id.lower()
        for exception in self._live:
            if (
                exception.accepted_value == value
                and fnmatch.fnmatchcase(rid, exception.resource_pattern.lower())
                and fnmatch.fnmatchcase(path, exception.path_pattern)
            ):
                return exception
        return None


@dataclass(frozen=True)
class FlappingPolicy:
    """More than ``changes`` events within the last ``passes`` detection passes is flapping."""

    changes: int = DEFAULT_FLAPPING_CHANGES
    passes: int = DEFAULT_FLAPPING_PASSES

    @classmethod
    def from_thresholds(cls, drift_thresholds: dict[str, Any] | None) -> FlappingPolicy:
        spec = (drift_thresholds or {}).get("flapping") or {}
        return cls(
            changes=int(spec.get("changes", DEFAULT_FLAPPING_CHANGES)),
            passes=int(spec.get("passes", DEFAULT_FLAPPING_PASSES)),
        )

    def window_start(
        self, latest_report_ids: Sequence[int], report_id: int, complete: bool
    ) -> int | None:
        """The id of the oldest of the last ``passes`` reports, counting report
        ``report_id`` (not written yet), from ``latest_report_ids`` (the latest reports'
        ids, newest first; ``complete``: every report there is). None when they are too
        few to tell."""
        earlier = [r for r in latest_report_ids if r < report_id][: self.passes - 1]
        if len(earlier) == self.passes - 1 or complete:
            return min([report_id, *earlier])
        return None

    def record(
        self, recent_report_ids: Sequence[int], report_id: int, oldest_in_window: int
    ) -> tuple[list[int], bool]:
        """The path's event list after an event in ``report_id``, and whether it flaps.

        ``oldest_in_window`` is the id of the oldest report among the last ``passes``
        (report ids grow with time, so older events fall out by comparison).
        """
        kept = [r for r in recent_report_ids if oldest_in_window <= r < report_id]
        kept.append(report_id)
        return kept, len(kept) > self.changes
