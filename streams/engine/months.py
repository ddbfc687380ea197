"""The months of a statistics window, for the monthly series of the report.

A month is a calendar month in the ruleset's time zone (Europe/London for
`ew-2020.1`), taken like the window itself as (its first midnight, the next
month's first midnight]: an event at exactly 00:00 on the 1st belongs to the
month before, so that a report as of a month's end ends on a whole month.
The months are those overlapping the window (as_of - window_days, as_of],
each clipped to it, so the first and last are usually partial and the monthly
counts add up exactly to the window's.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, tzinfo
from typing import NamedTuple

from refmon.streams.engine.timeutil import MICROS_PER_DAY, from_micros, local_midnight


class MonthSpan(NamedTuple):
    label: str
    """`YYYY-MM`, the local calendar month."""
    start: int
    """Exclusive: the month's first local midnight, or the window's start if later."""
    end: int
    """Inclusive: the next month's first local midnight, or the as-of time if earlier."""
    partial: bool
    """Clipped by the window: the month is not all in it."""


def next_month(day: date) -> date:
    """The 1st of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_label(day: date) -> str:
    """`YYYY-MM` of `day`'s month."""
    return f"{day.year:04d}-{day.month:02d}"


def month_spans(as_of: int, window_days: int, zone: tzinfo) -> tuple[MonthSpan, ...]:
    """The months overlapping (as_of - window_days, as_of], in order, clipped to it."""
    start = as_of - window_days * MICROS_PER_DAY
    # The local month of the window's start: a start at exactly a month's first
    # midnight gives that month, since the one before has nothing in (start, ...].
    first = from_micros(start).astimezone(zone).date().replace(day=1)
    spans: list[MonthSpan] = []
    month = first
    while True:
        lo, hi = local_midnight(month, zone), local_midnight(next_month(month), zone)
        if lo >= as_of:
            break
        spans.append(
            MonthSpan(
                month_label(month),
                max(lo, start),
                min(hi, as_of),
                partial=lo < start or hi > as_of,
            )
        )
        month = next_month(month)
    return tuple(spans)


def month_of(ends: Sequence[int], at: int) -> int:
    """Index of the month whose span (previous end, end] holds `at`; `ends` are the spans' ends.

    The caller makes sure `at` lies in the window.
    """
    return bisect_left(ends, at)
