"""When a message may go out (pure): quiet hours across midnight and DST, digests, globs."""

from __future__ import annotations

from datetime import UTC, datetime, time

from notifications.rules import Timing, send_at, type_matches

NIGHT = Timing(mode="immediate", timezone="Europe/Berlin", quiet_start=time(22), quiet_end=time(7))


def test_quiet_hours_across_midnight_hold_until_the_local_morning_in_summer_and_winter():
    summer = send_at(NIGHT, datetime(2026, 7, 1, 21, 30, tzinfo=UTC), has_critical=False)
    winter = send_at(NIGHT, datetime(2026, 1, 15, 22, 30, tzinfo=UTC), has_critical=False)
    assert summer == datetime(2026, 7, 2, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert winter == datetime(2026, 1, 16, 6, 0, tzinfo=UTC)  # 07:00 CET


def test_outside_quiet_hours_and_critical_go_now():
    day = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert send_at(NIGHT, day, has_critical=False) == day
    night = datetime(2026, 7, 1, 23, 0, tzinfo=UTC)
    assert send_at(NIGHT, night, has_critical=True) == night
    strict = Timing(**{**NIGHT.__dict__, "critical_bypasses_quiet_hours": False})
    assert send_at(strict, night, has_critical=True) > night


def test_hourly_and_daily_digests_fall_on_local_slots():
    now = datetime(2026, 3, 28, 23, 10, tzinfo=UTC)  # 00:10 CET, the night before DST starts
    hourly = send_at(Timing(mode="hourly", timezone="Europe/Berlin"), now, has_critical=False)
    daily = send_at(
        Timing(mode="daily", timezone="Europe/Berlin", digest_time=time(8)), now, has_critical=False
    )
    assert hourly == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert daily == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST after the change


def test_globs():
    assert type_matches("Microsoft.Network/networkSecurityGroups", ["microsoft.network/*"])
    assert not type_matches("microsoft.storage/storageaccounts", ["microsoft.network/*"])
    assert type_matches("anything", [])
