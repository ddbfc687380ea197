"""A force's monthly recorded volume against its own process limits (docs/volume.md).

The cross-force targets are pooled (docs/contract.md section 9), so one force's
volume moves everyone's: 3,000 fabricated cases at one force shift the national
mandatory share and with it every other force's status. The pooling is the
method; what this module adds is to make such a volume visible, as a
data-quality finding for the force whose volume it is.

An XmR (individuals) chart, as NHS England's "Making Data Count" draws it, on
the force's `recorded` count of each complete month in the window: the
baseline is every complete month before the latest `ASSESSED_MONTHS`, and a
month among those latest that lies outside the baseline's limits is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from math import sqrt
from typing import Any, Literal, NamedTuple

from refmon.streams.engine.counts import MonthCounts

VolumeStatus = Literal["ok", "anomaly", "insufficient_data"]

ASSESSED_MONTHS = 3
"""The latest complete months judged against the limits of the months before them."""
MIN_BASELINE_MONTHS = 6
"""Fewer complete months before the assessed ones give limits too loose to mean anything."""
MIN_BASELINE_RECORDED = 5
"""A force recording almost nothing has no volume to judge (as the funnel's 5)."""
SIGMA_FACTOR = 2.66
"""3 / d2 with d2 = 1.128: three sigma estimated from the mean moving range."""
POISSON_SIGMAS = 3.0
"""The limits are never narrower than three Poisson sigmas (sqrt of the centre): a
count of independent cases varies at least that much, and a baseline of a few months
that happened to be smooth would otherwise flag ordinary variation (docs/volume.md)."""


class Volume(NamedTuple):
    status: VolumeStatus
    centre: float | None = None
    """Mean monthly `recorded` over the baseline months."""
    lower: float | None = None
    """Lower process limit, never below 0."""
    upper: float | None = None
    flagged: tuple[str, ...] = ()
    """The assessed months (`YYYY-MM`) outside the limits, in order."""
    flagged_at: int | None = None
    """The inclusive end of the latest flagged month."""


INSUFFICIENT = Volume("insufficient_data")


def volume(monthly: Sequence[Sequence[Any]]) -> Volume:
    """Judge the force's complete months; partial months (the window's ends) take no part."""
    # By position: months read back from `dataclasses.asdict` JSON are lists.
    months = [
        m if isinstance(m, MonthCounts) else MonthCounts.from_json(m)
        for m in monthly
        if not m[3]  # partial
    ]
    if len(months) < MIN_BASELINE_MONTHS + ASSESSED_MONTHS:
        return INSUFFICIENT
    baseline, assessed = months[:-ASSESSED_MONTHS], months[-ASSESSED_MONTHS:]
    counts = [m.recorded for m in baseline]
    if sum(counts) < MIN_BASELINE_RECORDED:
        return INSUFFICIENT
    centre = sum(counts) / len(counts)
    moving = [abs(b - a) for a, b in pairwise(counts)]
    spread = max(SIGMA_FACTOR * sum(moving) / len(moving), POISSON_SIGMAS * sqrt(centre))
    lower, upper = max(0.0, centre - spread), centre + spread
    flagged = [m for m in assessed if not lower <= m.recorded <= upper]
    return Volume(
        "anomaly" if flagged else "ok",
        centre,
        lower,
        upper,
        tuple(m.month for m in flagged),
        flagged[-1].end if flagged else None,
    )
