"""Tiny SVG charts for the fleet page (pure; no Django): no JavaScript, no chart library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta


def daily_series(points: Mapping[date, int], end: date, days: int = 30) -> list[int | None]:
    """One value per day for the ``days`` days ending at ``end``.

    A day without a point carries the previous day's value forward (open findings do not
    change without a detection pass); days before the first point are None.
    """
    series: list[int | None] = []
    last: int | None = None
    known_before = [d for d in points if d < end - timedelta(days=days - 1)]
    if known_before:
        last = points[max(known_before)]
    for offset in range(days - 1, -1, -1):
        day = end - timedelta(days=offset)
        if day in points:
            last = points[day]
        series.append(last)
    return series


def polyline_points(series: Sequence[int | None], width: int, height: int, pad: int = 2) -> str:
    """SVG ``points`` for the known values of ``series`` scaled into width x height."""
    known = [(i, v) for i, v in enumerate(series) if v is not None]
    if not known:
        return ""
    top = max(v for _, v in known) or 1
    step = (width - 2 * pad) / max(len(series) - 1, 1)
    usable = height - 2 * pad
    return " ".join(
        f"{pad + i * step:.1f},{pad + usable - (v / top) * usable:.1f}" for i, v in known
    )
