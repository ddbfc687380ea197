"""Referral delays: how long after the duty arose each referral came.

A snapshot over the same window as the report, not a running tally, so that a
duplicate, a replay or a rebuild after a rebalance can never count a case twice.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from refmon.streams.engine.case import CaseState
from refmon.streams.engine.timeutil import MICROS_PER_DAY, MICROS_PER_HOUR

DELAY_BOUNDS_US: tuple[int, ...] = (
    MICROS_PER_HOUR,
    6 * MICROS_PER_HOUR,
    12 * MICROS_PER_HOUR,
    MICROS_PER_DAY,
    36 * MICROS_PER_HOUR,
    2 * MICROS_PER_DAY,
    3 * MICROS_PER_DAY,
    7 * MICROS_PER_DAY,
    14 * MICROS_PER_DAY,
    30 * MICROS_PER_DAY,
)
"""Upper bucket bounds. The deadline falls 24 to 48 hours after the duty, so
the buckets are finest there."""


@dataclass(frozen=True, slots=True)
class DelayHistogram:
    bounds_us: tuple[int, ...]
    counts: tuple[int, ...]
    """Cases per bucket, not cumulative; one more than the bounds (the overflow)."""
    sum_us: int

    @property
    def count(self) -> int:
        return sum(self.counts)


def delay_histogram(
    cases: Iterable[CaseState],
    as_of: int | None,
    window_days: int,
    bounds_us: Sequence[int] = DELAY_BOUNDS_US,
) -> DelayHistogram:
    """Delays of the referred mandatory cases whose duty arose in (as_of - window, as_of].

    A referral made before the duty arose (a voluntary referral of a case that
    later became mandatory) counts as no delay at all.
    """
    bounds = tuple(bounds_us)
    counts = [0] * (len(bounds) + 1)
    total = 0
    if as_of is not None:
        start = as_of - window_days * MICROS_PER_DAY
        for case in cases:
            duty_at, referral = case.duty_at, case.referral_at
            if duty_at is None or referral is None or not start < duty_at <= as_of:
                continue
            delay = max(0, referral - duty_at)
            counts[bisect_left(bounds, delay)] += 1
            total += delay
    return DelayHistogram(bounds, tuple(counts), total)
