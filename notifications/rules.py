"""When a rule fires and when its message may go out (pure: no Django).

Quiet hours and digests are computed in the rule's IANA time zone, so "22:00-07:00
Europe/Berlin" means Berlin's night in summer and winter alike.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def type_matches(resource_type: str, globs: Sequence[str]) -> bool:
    """True if ``globs`` is empty or any glob matches the resource type (case-insensitive)."""
    if not globs:
        return True
    lowered = resource_type.lower()
    return any(fnmatch.fnmatchcase(lowered, glob.lower()) for glob in globs)


@dataclass(frozen=True)
class Timing:
    """The parts of a rule that decide when its message is sent."""

    mode: str
    timezone: str
    digest_time: time | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    critical_bypasses_quiet_hours: bool = True


def in_quiet_hours(timing: Timing, now: datetime) -> datetime | None:
    """The end of the quiet period ``now`` falls in (aware datetime), or None if not quiet."""
    if timing.quiet_start is None or timing.quiet_end is None:
        return None
    if timing.quiet_start == timing.quiet_end:
        return None
    local = now.astimezone(ZoneInfo(timing.timezone))
    t = local.time()
    start, end = timing.quiet_start, timing.quiet_end
    quiet = start <= t < end if start < end else (t >= start or t < end)
    if not quiet:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=local.tzinfo)


def send_at(timing: Timing, now: datetime, *, has_critical: bool) -> datetime:
    """When a message of this rule created at ``now`` goes out (digest slot, after quiet hours)."""
    zone = ZoneInfo(timing.timezone)
    local = now.astimezone(zone)
    when = now
    if timing.mode == "hourly":
        when = (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(
            zone
        )
    elif timing.mode == "daily":
        at = timing.digest_time or time(8, 0)
        candidate = datetime.combine(local.date(), at, tzinfo=zone)
        when = candidate if candidate > local else candidate + timedelta(days=1)
    if has_critical and timing.critical_bypasses_quiet_hours:
        return when
    quiet_until = in_quiet_hours(timing, when)
    return quiet_until if quiet_until is not None else when
