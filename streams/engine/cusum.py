"""Timeliness over time: a Bernoulli CUSUM per force (docs/contract.md section 11).

The funnel compares forces over a whole window, so a force whose timeliness
collapsed in its last few months can still look in line there. A CUSUM
accumulates evidence case by case, forgets good times (it never goes below 0)
and signals when recent cases are late more often than the national rate
explains, as the national clinical outlier-surveillance systems do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Literal, NamedTuple

from refmon.streams.engine.timeutil import MICROS_PER_DAY

H = 6.0
"""The decision threshold: high enough that a force in control rarely signals
(docs/reading-the-report.md: how often, by simulation), low enough that a doubling shows
within months."""
ODDS_RATIO = 2.0
"""The change the chart is tuned to detect: the odds of a late referral doubling."""
RECENT_DAYS = 90
"""A signal counts towards the status while its deadline is this recent."""
MIN_DUE = 5

TimelinessStatus = Literal["ok", "signal", "insufficient_data"]


class Step(NamedTuple):
    """The due cases of one force that share one deadline instant: one step of the chart."""

    deadline: int
    due: int
    late_or_overdue: int
    """Cases with x = 1: referred at or after the deadline, or not referred at all."""


class Parameters(NamedTuple):
    p0: float
    """The national share of due cases not referred on time (1 - national compliance)."""
    p1: float
    """The share the chart is tuned to detect: p0 with its odds doubled."""
    h: float

    @property
    def weights(self) -> tuple[float, float]:
        """(weight of an on-time case, weight of a late or overdue one): log-likelihood ratios."""
        return (
            math.log((1 - self.p1) / (1 - self.p0)),
            math.log(self.p1 / self.p0),
        )


def target(compliance: float | None) -> tuple[float | None, float | None]:
    """(p0, p1) from the national compliance; None where there is no compliance to speak of."""
    if compliance is None:
        return None, None
    p0 = 1 - compliance
    return p0, ODDS_RATIO * p0 / (1 + (ODDS_RATIO - 1) * p0)


def parameters(national_due: int, compliance: float | None, h: float = H) -> Parameters | None:
    """The chart's parameters, or None when no force can be charted (too little national data,
    or every due case on time, or none: the log-likelihood ratios would be undefined)."""
    p0, p1 = target(compliance)
    if national_due < MIN_DUE or p0 is None or p1 is None or not 0 < p0 < 1:
        return None
    return Parameters(p0, p1, h)


class Point(NamedTuple):
    deadline: int
    cusum: float
    """S after this step (0 after a signal: the chart resets)."""
    signal: bool


def path(steps: Iterable[Step], params: Parameters) -> Iterator[Point]:
    """S after each step, in deadline order; a step reaching h signals and resets S to 0."""
    ok_weight, late_weight = params.weights
    s = 0.0
    # Unpacked by position: steps read back from `dataclasses.asdict` JSON are lists.
    for deadline, due, late in sorted(steps):
        s = max(0.0, s + late * late_weight + (due - late) * ok_weight)
        signal = s >= params.h
        if signal:
            s = 0.0
        yield Point(deadline, s, signal)


class Timeliness(NamedTuple):
    """One force's timeliness fields of the report; None for insufficient data."""

    cusum: float | None
    signals: int | None
    signalled_at: int | None
    """The deadline of the latest signal in the window."""
    status: TimelinessStatus


INSUFFICIENT = Timeliness(None, None, None, "insufficient_data")


def timeliness(
    steps: Iterable[Step], due: int, params: Parameters | None, as_of: int | None
) -> Timeliness:
    if params is None or due < MIN_DUE or as_of is None:
        return INSUFFICIENT
    s, signals, latest = 0.0, 0, None
    for point in path(steps, params):
        s = point.cusum
        if point.signal:
            signals += 1
            latest = point.deadline
    recent = latest is not None and latest > as_of - RECENT_DAYS * MICROS_PER_DAY
    return Timeliness(s, signals, latest, "signal" if recent else "ok")
