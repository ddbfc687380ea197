"""Funnel-plot limits for proportions with over-dispersion (docs/contract.md section 9).

Spiegelhalter (2005), additive random effects on the arcsine scale, computed
as the FunnelPlotR package does for proportions: z-scores winsorised at the
10th/90th percentiles (R's type-7 quantiles) give phi, then a DerSimonian-Laird
style tau^2 widens every limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Z95 = 1.959964
Z998 = 3.090232
MIN_DENOMINATOR = 5
WINSORISE_BY = 0.1

Status = Literal["ok", "alert", "alarm", "insufficient_data"]
Side = Literal["low", "high"]
"""Which side of the funnel is flagged: too few (compliance, mandatory share) or
too many (returned share)."""


@dataclass(frozen=True, slots=True)
class Limits:
    lower_998: float
    lower_95: float
    upper_95: float
    upper_998: float


@dataclass(frozen=True, slots=True)
class Unit:
    """One force's place on the funnel."""

    numerator: int
    denominator: int
    z: float | None
    status: Status
    limits: Limits | None


@dataclass(frozen=True, slots=True)
class Funnel:
    target: float | None
    phi: float | None
    tau2: float | None
    units: Mapping[str, Unit]


def quantile_type7(sorted_values: Sequence[float], p: float) -> float:
    """R's default quantile: linear interpolation between order statistics."""
    h = (len(sorted_values) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def overdispersion(z_scores: Sequence[float]) -> float:
    """phi: the mean of the squared z-scores after winsorising both tails."""
    ordered = sorted(z_scores)
    low = quantile_type7(ordered, WINSORISE_BY)
    high = quantile_type7(ordered, 1 - WINSORISE_BY)
    return sum(min(max(z, low), high) ** 2 for z in z_scores) / len(z_scores)


def between_variance(phi: float, weights: Sequence[float]) -> float:
    """tau^2 from phi and the inverse-variance weights w = 1/s^2."""
    k = len(weights)
    if k * phi < k - 1 or phi <= 1:
        return 0.0
    total = sum(weights)
    spread = total - sum(w * w for w in weights) / total
    if spread <= 0:
        return 0.0
    return max(0.0, (k * phi - (k - 1)) / spread)


def _limit(target_angle: float, z: float, variance: float) -> float:
    # The angle is clipped to [0, pi/2] so that limits stay in [0, 1] and keep
    # their order even where small counts would wrap sin^2 back round.
    angle = min(max(target_angle + z * math.sqrt(variance), 0.0), math.pi / 2)
    return math.sin(angle) ** 2


def limits_at(target: float, tau2: float, denominator: float) -> Limits:
    """The control limits at a denominator: what `funnel` gives a unit of that size.

    Also for drawing the funnel's curves at any denominator (the bulletin).
    """
    t_angle = math.asin(math.sqrt(target))
    variance = 1 / (4 * denominator) + tau2
    return Limits(
        lower_998=_limit(t_angle, -Z998, variance),
        lower_95=_limit(t_angle, -Z95, variance),
        upper_95=_limit(t_angle, Z95, variance),
        upper_998=_limit(t_angle, Z998, variance),
    )


def _status(z: float, side: Side) -> Status:
    beyond = -z if side == "low" else z
    return "alarm" if beyond > Z998 else "alert" if beyond > Z95 else "ok"


def funnel(counts: Mapping[str, tuple[int, int]], side: Side = "low") -> Funnel:
    """Compare units' proportions numerator/denominator against their pooled target."""
    eligible = {u: rn for u, rn in counts.items() if rn[1] >= MIN_DENOMINATOR}
    units: dict[str, Unit] = {
        u: Unit(r, n, None, "insufficient_data", None)
        for u, (r, n) in counts.items()
        if u not in eligible
    }
    if not eligible:
        return Funnel(None, None, None, units)
    names = sorted(eligible)
    target = sum(eligible[u][0] for u in names) / sum(eligible[u][1] for u in names)
    t_angle = math.asin(math.sqrt(target))
    y = {u: math.asin(math.sqrt(eligible[u][0] / eligible[u][1])) for u in names}
    s2 = {u: 1 / (4 * eligible[u][1]) for u in names}
    raw_z = [(y[u] - t_angle) / math.sqrt(s2[u]) for u in names]
    phi = overdispersion(raw_z)
    tau2 = between_variance(phi, [1 / s2[u] for u in names])
    for u in names:
        r, n = eligible[u]
        variance = s2[u] + tau2
        z = (y[u] - t_angle) / math.sqrt(variance)
        units[u] = Unit(r, n, z, _status(z, side), limits_at(target, tau2, n))
    return Funnel(target, phi, tau2, units)
