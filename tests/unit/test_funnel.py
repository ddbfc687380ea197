"""Funnel-plot statistics against an independent implementation and hand-worked numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine.counts import ForceCounts, no_decisions
from refmon.streams.engine.funnel import (
    Z95,
    Z998,
    between_variance,
    funnel,
    overdispersion,
    quantile_type7,
)
from refmon.streams.engine.report import cross_force


def independent(counts: dict[str, tuple[int, int]]) -> dict[str, object]:
    """The FunnelPlotR proportion method written again, vectorised, with numpy's quantiles."""
    names = sorted(u for u, (_, n) in counts.items() if n >= 5)
    r = np.array([counts[u][0] for u in names], dtype=float)
    n = np.array([counts[u][1] for u in names], dtype=float)
    target = r.sum() / n.sum()
    t = np.arcsin(np.sqrt(target))
    y = np.arcsin(np.sqrt(r / n))
    s = 1 / (2 * np.sqrt(n))
    z = (y - t) / s
    lo, hi = np.percentile(z, [10, 90], method="linear")
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    w = 1 / s**2
    k = len(names)
    denominator = w.sum() - (w**2).sum() / w.sum()
    tau2 = (
        0.0
        if (k * phi < k - 1 or phi <= 1 or denominator <= 0)
        else max(0.0, (k * phi - (k - 1)) / denominator)
    )
    adjusted = (y - t) / np.sqrt(s**2 + tau2)
    return {
        "target": target,
        "phi": phi,
        "tau2": tau2,
        "z": dict(zip(names, adjusted.tolist(), strict=True)),
    }


def test_type7_quantiles_match_r() -> None:
    # R: quantile(c(1, 2, 3, 4, 10), c(0.1, 0.9)) gives 1.4 and 7.6
    assert quantile_type7([1, 2, 3, 4, 10], 0.1) == pytest.approx(1.4)
    assert quantile_type7([1, 2, 3, 4, 10], 0.9) == pytest.approx(7.6)
    assert quantile_type7([5.0], 0.1) == 5.0


def test_phi_winsorises_both_tails() -> None:
    z = [-10.0, -1.0, 0.0, 1.0, 10.0]
    # q10 = -10 + 0.4 * 9 = -6.4, q90 = 6.4: the extremes are pulled in to +-6.4
    assert overdispersion(z) == pytest.approx((2 * 6.4**2 + 2) / 5)


def test_tau2_is_zero_unless_overdispersed() -> None:
    assert between_variance(1.0, [100.0, 200.0, 300.0]) == 0.0
    assert between_variance(0.5, [100.0, 200.0]) == 0.0
    # k=3, phi=2: (6 - 2) / (600 - (100^2 + 200^2 + 300^2) / 600) = 4 / (600 - 233.33...)
    assert between_variance(2.0, [100.0, 200.0, 300.0]) == pytest.approx(4 / (600 - 140000 / 600))


def test_a_hand_worked_funnel() -> None:
    counts = {"A": (90, 100), "B": (40, 50), "C": (150, 200), "D": (20, 25), "E": (2, 4)}
    result = funnel(counts)
    # Pooled over the four units with n >= 5: 300 / 375 = 0.8 (E has n < 5).
    assert result.target == pytest.approx(0.8)
    t = math.asin(math.sqrt(0.8))
    za = (math.asin(math.sqrt(0.9)) - t) * 2 * math.sqrt(100)
    zc = (math.asin(math.sqrt(0.75)) - t) * 2 * math.sqrt(200)
    assert result.units["B"].z == pytest.approx(0.0, abs=1e-12)
    assert result.units["D"].z == pytest.approx(0.0, abs=1e-12)
    # z sorted: zc, 0, 0, za; q10 = zc + 0.3 (0 - zc); q90 = 0 + 0.7 (za - 0)
    q10, q90 = zc * 0.7, za * 0.7
    phi = (q10**2 + q90**2) / 4
    assert result.phi == pytest.approx(phi)
    # w = 4n = 400, 200, 800, 100: sum 1500, sum of squares 850000
    tau2 = (4 * phi - 3) / (1500 - 850000 / 1500)
    assert phi > 1
    assert result.tau2 == pytest.approx(tau2)
    assert result.units["A"].z == pytest.approx(
        (math.asin(math.sqrt(0.9)) - t) / math.sqrt(1 / 400 + tau2)
    )
    assert result.units["E"].status == "insufficient_data"
    assert result.units["E"].z is None
    limits = result.units["C"].limits
    assert limits is not None
    assert limits.lower_95 == pytest.approx(math.sin(t - Z95 * math.sqrt(1 / 800 + tau2)) ** 2)
    assert limits.lower_998 < limits.lower_95 < 0.8 < limits.upper_95 < limits.upper_998 <= 1


def test_statuses_are_low_side_only() -> None:
    counts = {f"u{i}": (95, 100) for i in range(10)}
    counts["low"] = (60, 100)
    counts["high"] = (100, 100)
    result = funnel(counts)
    assert result.units["low"].status == "alarm"
    assert result.units["high"].status == "ok"
    assert result.units["low"].z is not None
    assert result.units["low"].z < -Z998


unit_counts = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(unit_counts)
def test_matches_an_independent_implementation(counts: dict[str, tuple[int, int]]) -> None:
    result = funnel(counts)
    eligible = [u for u, (_, n) in counts.items() if n >= 5]
    if not eligible:
        assert result.target is None
        return
    expected = independent(counts)
    assert result.target == pytest.approx(expected["target"])
    assert result.phi == pytest.approx(expected["phi"], rel=1e-9, abs=1e-12)
    assert result.tau2 == pytest.approx(expected["tau2"], rel=1e-9, abs=1e-15)
    for unit, z in expected["z"].items():  # type: ignore[attr-defined]
        assert result.units[unit].z == pytest.approx(z, rel=1e-9, abs=1e-9)
        status = "alarm" if z < -Z998 else "alert" if z < -Z95 else "ok"
        assert result.units[unit].status == status


def test_the_returned_share_flags_the_high_side_only() -> None:
    counts = {f"u{i}": (20, 100) for i in range(10)}
    counts["high"] = (60, 100)
    counts["low"] = (0, 100)
    result = funnel(counts, side="high")
    assert result.units["high"].status == "alarm"
    assert result.units["low"].status == "ok"
    assert result.units["high"].z is not None
    assert result.units["high"].z > Z998


def _force_counts(returned: int, decided: int) -> ForceCounts:
    decisions = no_decisions()
    decisions["referred_back"] = returned // 2
    decisions["no_investigation"] = returned - returned // 2
    decisions["local"] = decided - returned
    return ForceCounts(decisions=decisions)


@settings(max_examples=300, deadline=None)
@given(unit_counts)
def test_the_returned_share_funnel_matches_an_independent_implementation(
    counts: dict[str, tuple[int, int]],
) -> None:
    rows, national = cross_force({u: _force_counts(r, n) for u, (r, n) in counts.items()}, {})
    by = {row.force: row for row in rows}
    eligible = [u for u, (_, n) in counts.items() if n >= 5]
    if not eligible:
        assert national.returned_share_phi is None
        assert all(row.returned_share_status == "insufficient_data" for row in rows)
        return
    expected = independent(counts)
    assert national.returned_share_phi == pytest.approx(expected["phi"], rel=1e-9, abs=1e-12)
    assert national.returned_share_tau2 == pytest.approx(expected["tau2"], rel=1e-9, abs=1e-15)
    total_r = sum(r for r, _ in counts.values())
    total_n = sum(n for _, n in counts.values())
    assert national.returned_share == (total_r / total_n if total_n else None)
    for unit, z in expected["z"].items():  # type: ignore[attr-defined]
        row = by[unit]
        assert row.returned_share_z == pytest.approx(z, rel=1e-9, abs=1e-9)
        status = "alarm" if z > Z998 else "alert" if z > Z95 else "ok"
        assert row.returned_share_status == status
        assert row.returned_share == counts[unit][0] / counts[unit][1]
