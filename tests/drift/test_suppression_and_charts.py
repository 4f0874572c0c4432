"""Pure pieces: exception matching, flapping windows, fleet trend series and sorting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from drift.suppression import AcceptedDeviation, ExceptionMatcher, FlappingPolicy, glob_escape
from tenants.charts import daily_series, polyline_points

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RID = "/subscriptions/s/resourcegroups/rg_1/providers/microsoft.storage/storageaccounts/st[1]"


def deviation(**overrides) -> AcceptedDeviation:
    values = {
        "id": 1,
        "resource_pattern": glob_escape(RID),
        "path_pattern": glob_escape("properties.rules[0].port"),
        "accepted_value": 22,
        "expires_at": NOW + timedelta(days=1),
    }
    return AcceptedDeviation(**{**values, **overrides})


def test_an_exception_matches_its_exact_resource_path_and_value_only():
    matcher = ExceptionMatcher([deviation()], NOW)
    assert matcher.match(RID.upper(), "properties.rules[0].port", 22) is not None
    assert matcher.match(RID, "properties.rules[0].port", 23) is None, "another value"
    assert matcher.match(RID, "properties.rules[1].port", 22) is None, "[0] is literal"
    assert matcher.match(RID.replace("st[1]", "st1"), "properties.rules[0].port", 22) is None


def test_an_expired_exception_matches_nothing_and_globs_widen_on_purpose():
    assert not ExceptionMatcher([deviation(expires_at=NOW)], NOW)
    wide = ExceptionMatcher([deviation(resource_pattern="*/storageaccounts/*")], NOW)
    assert wide.match(RID, "properties.rules[0].port", 22) is not None


@pytest.mark.parametrize(
    ("recent", "report", "oldest", "kept", "flaps"),
    [
        ([], 10, 1, [10], False),
        ([7, 8, 9], 10, 1, [7, 8, 9, 10], True),
        ([1, 2, 9], 10, 5, [9, 10], False),
    ],
)
def test_flapping_counts_events_inside_the_window(recent, report, oldest, kept, flaps):
    assert FlappingPolicy(changes=3, passes=10).record(recent, report, oldest) == (kept, flaps)


@pytest.mark.parametrize(
    ("latest", "report", "complete", "start"),
    [
        ([9, 8, 7, 6], 10, False, 8),
        ([12, 9, 8, 7], 10, False, 8),
        ([9], 10, True, 9),
        ([], 10, True, 10),
        ([9], 10, False, None),
    ],
)
def test_the_flapping_window_starts_at_the_oldest_of_the_last_passes(
    latest, report, complete, start
):
    """The last ``passes`` reports count the pass's own (not written yet): with
    passes=3, its two predecessors; fewer reports than that are enough only when they
    are all there are."""
    policy = FlappingPolicy(changes=2, passes=3)
    assert policy.window_start(latest, report, complete=complete) == start


def test_flapping_policy_reads_the_tenant_thresholds_with_defaults():
    assert FlappingPolicy.from_thresholds({"flapping": {"changes": 5, "passes": 20}}) == (
        FlappingPolicy(5, 20)
    )
    assert FlappingPolicy.from_thresholds(None) == FlappingPolicy()


def test_daily_series_carries_values_forward_and_leaves_unknown_days_empty():
    end = date(2026, 11, 23)
    points = {date(2026, 11, 20): 4, date(2026, 11, 22): 1, date(2026, 10, 1): 9}
    series = daily_series(points, end, days=5)
    assert series == [9, 4, 4, 1, 1], "a point before the window seeds the first days"
    assert daily_series({date(2026, 11, 22): 2}, end, days=3) == [None, 2, 2]


def test_polyline_scales_to_the_box_and_skips_unknown_days():
    points = polyline_points([None, 0, 10], width=22, height=12, pad=1)
    assert points == "11.0,11.0 21.0,1.0"
    assert polyline_points([None, None], 10, 10) == ""
