"""The drift severity vocabulary, defined once: names, order and database ordering.

Pure module (no Django imports at module level except in :func:`rank_expression`). Every
place that lists, compares, sorts or escalates severities uses these ranks, never the
alphabetical order of the names (which puts "critical" before "low" and "high" before
"medium").
"""

from __future__ import annotations

from typing import Any

LOW = "low"
MEDIUM = "medium"
HIGH = "high"
CRITICAL = "critical"

#: Severities from least to most severe; the index is the rank.
SEVERITIES: tuple[str, ...] = (LOW, MEDIUM, HIGH, CRITICAL)
SEVERITY_RANKS: dict[str, int] = {name: index for index, name in enumerate(SEVERITIES)}
#: (value, label) pairs for model and form choices, least severe first.
SEVERITY_CHOICES: tuple[tuple[str, str], ...] = tuple((s, s) for s in SEVERITIES)
#: The rank of a name outside the vocabulary where one is tolerated (a stored value, a
#: payload): below low, so it sorts last and passes no severity floor.
UNKNOWN_RANK = -1


def severity_rank(severity: str) -> int:
    """Rank of ``severity`` (low=0 ... critical=3); ValueError for an unknown name."""
    try:
        return SEVERITY_RANKS[severity]
    except KeyError:
        raise ValueError(f"unknown severity {severity!r}; use one of {SEVERITIES}") from None


def stored_severity_rank(severity: str) -> int:
    """Rank of a severity read back from storage or a message (low=0 ... critical=3),
    :data:`UNKNOWN_RANK` for a name outside the vocabulary instead of an error, as
    :func:`rank_expression` ranks it in the database."""
    return SEVERITY_RANKS.get(severity, UNKNOWN_RANK)


def most_severe(severities: Any, default: str = LOW) -> str:
    """The highest-ranked of ``severities`` (``default`` when there are none)."""
    return max(severities, key=severity_rank, default=default)


def at_least(severity: str, floor: str) -> bool:
    """Is ``severity`` ranked at or above ``floor``?"""
    return severity_rank(severity) >= severity_rank(floor)


def rank_expression(field: str = "severity") -> Any:
    """A database expression giving ``field``'s rank, for ``order_by`` (most severe first
    with ``.desc()``); unknown values rank below low."""
    from django.db.models import Case, IntegerField, Value, When

    return Case(
        *(When(**{field: name}, then=Value(rank)) for name, rank in SEVERITY_RANKS.items()),
        default=Value(UNKNOWN_RANK),
        output_field=IntegerField(),
    )


def rank_sql(column: str) -> Any:
    """:func:`rank_expression` as one ``RawSQL`` over ``column`` (a quoted, qualified
    column such as ``"drift_driftfinding"."severity"``): the same CASE, so PostgreSQL
    still uses the (severity rank, id) index, without the ORM resolving and compiling
    four When(Q(...)) on every request (0.75 ms of a findings page). Only names and
    ranks from this module go into the text."""
    from django.db.models import IntegerField
    from django.db.models.expressions import RawSQL

    whens = " ".join(
        f"WHEN {column} = '{name}' THEN {rank}" for name, rank in SEVERITY_RANKS.items()
    )
    return RawSQL(f"CASE {whens} ELSE {UNKNOWN_RANK} END", (), output_field=IntegerField())  # noqa: S611
