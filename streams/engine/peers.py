"""Peer groups and the same period last year (docs/contract.md section 15): pure arithmetic.

The groups are data (force -> group) read from a CSV outside the engine
(streams/peer_groups.py); the police regions are the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Final, Literal

from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.timeutil import from_micros, to_micros

Compared = Literal["compliance", "mandatory_share", "returned_share"]
COMPARED: Final[tuple[Compared, ...]] = ("compliance", "mandatory_share", "returned_share")
Z_95: Final = 1.959964
MIN_DENOMINATOR: Final = 5


@dataclass(frozen=True, slots=True)
class PeerGroups:
    groups: Mapping[str, str]
    """force -> its group; a force not listed has none."""
    source: str | None = None
    """The file's `# source: ..., date: ...` comment, repeated in the report."""
    kind: Literal["regions", "peer_groups"] = "peer_groups"
    """What the groups are: the police regions (the default) or a given grouping."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """One measure of one force beside its group and its own last year."""

    group: float | None
    last_year: float | None
    change: float | None
    change_z: float | None
    change_significant: bool | None


@dataclass(frozen=True, slots=True)
class ForceComparison:
    group: str | None
    measures: Mapping[Compared, Comparison] = field(default_factory=dict)


def fraction(counts: ForceCounts, measure: Compared) -> tuple[int, int]:
    """(numerator, denominator) of a measure."""
    if measure == "compliance":
        return counts.on_time, counts.due
    if measure == "mandatory_share":
        return counts.mandatory, counts.recorded
    return counts.returned, counts.decided


def _value(counts: ForceCounts, measure: Compared) -> float | None:
    x, n = fraction(counts, measure)
    return x / n if n else None


def one_year_before(as_of: int, zone: tzinfo) -> int:
    """The same local wall-clock time a calendar year earlier (29 February -> 28 February)."""
    local = from_micros(as_of).astimezone(zone)
    day = 28 if (local.month, local.day) == (2, 29) else local.day
    earlier = datetime(
        local.year - 1,
        local.month,
        day,
        local.hour,
        local.minute,
        local.second,
        local.microsecond,
        tzinfo=zone,
    )
    return to_micros(earlier)


def change_z(this: tuple[int, int], last: tuple[int, int]) -> float | None:
    """The pooled two-proportion z; None under 5 in either denominator or p at 0 or 1."""
    (x1, n1), (x2, n2) = this, last
    if n1 < MIN_DENOMINATOR or n2 < MIN_DENOMINATOR:
        return None
    p = (x1 + x2) / (n1 + n2)
    if p <= 0 or p >= 1:
        return None
    return (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def compare(
    now: Mapping[str, ForceCounts],
    last_year: Mapping[str, ForceCounts],
    groups: PeerGroups,
) -> dict[str, ForceComparison]:
    """Per force: the group means and last year's values of each compared measure."""
    means: dict[tuple[str, Compared], float | None] = {}
    for measure in COMPARED:
        members: dict[str, list[float]] = {}
        for force, counts in now.items():
            group, value = groups.groups.get(force), _value(counts, measure)
            if group is not None and value is not None:
                members.setdefault(group, []).append(value)
        for group, values in members.items():
            means[(group, measure)] = sum(values) / len(values)
    result: dict[str, ForceComparison] = {}
    empty = ForceCounts()
    for force, counts in now.items():
        group = groups.groups.get(force)
        before = last_year.get(force, empty)
        measures: dict[Compared, Comparison] = {}
        for measure in COMPARED:
            value, previous = _value(counts, measure), _value(before, measure)
            z = change_z(fraction(counts, measure), fraction(before, measure))
            # "M_last_year, M_change and M_change_z ... all three are null when either
            # denominator is under 5 or p is 0 or 1": read literally, with
            # M_change_significant null too, as it has no z to judge by.
            comparable = z is not None and value is not None and previous is not None
            measures[measure] = Comparison(
                group=None if group is None else means.get((group, measure)),
                last_year=previous if comparable else None,
                change=value - previous if comparable else None,  # type: ignore[operator]
                change_z=z,
                change_significant=None if z is None else abs(z) > Z_95,
            )
        result[force] = ForceComparison(group, measures)
    return result
