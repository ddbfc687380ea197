"""A force's monthly recorded volume against its own XmR limits (docs/volume.md)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from refmon.streams.engine.counts import ForceCounts, MonthCounts
from refmon.streams.engine.report import cross_force
from refmon.streams.engine.volume import volume
from refmon.streams.engine.volume_findings import volume_findings
from refmon.streams.metrics import RefmonMetrics

from refmon import bootstrap


def months(*recorded: int, partial_ends: bool = False) -> tuple[MonthCounts, ...]:
    found = [
        MonthCounts(f"2025-{n + 1:02d}", n * 10, (n + 1) * 10, False, recorded=r)
        for n, r in enumerate(recorded)
    ]
    if partial_ends:
        first, last = found[0], found[-1]
        found[0], found[-1] = first._replace(partial=True), last._replace(partial=True)
    return tuple(found)


BASELINE = (40, 44, 38, 42, 41, 39, 43, 40)  # smooth: the Poisson floor sets the limits
WILD = (30, 50, 32, 48, 35, 45, 31, 49)  # mean 40, mean moving range 109 / 7


def test_limits_are_the_baseline_mean_plus_or_minus_2_66_mean_moving_ranges() -> None:
    judged = volume(months(*WILD, 82, 41, 39))
    assert judged.centre == pytest.approx(40)
    spread = 2.66 * 109 / 7
    assert (judged.lower, judged.upper) == pytest.approx((0.0, 40 + spread))  # never below 0
    assert (judged.status, judged.flagged, judged.flagged_at) == ("anomaly", ("2025-09",), 90)
    assert volume(months(*WILD, 81, 41, 39)).status == "ok"


def test_a_smooth_baseline_still_allows_three_poisson_sigmas() -> None:
    judged = volume(months(*[40] * 8, 55, 40, 25))
    assert judged.upper == pytest.approx(40 + 3 * 40**0.5)
    assert (judged.status, judged.flagged) == ("ok", ())


def test_a_month_below_the_lower_limit_is_flagged_too() -> None:
    judged = volume(months(*BASELINE, 41, 39, 2))
    assert (judged.status, judged.flagged) == ("anomaly", ("2025-11",))


def test_partial_months_take_no_part() -> None:
    judged = volume(months(5, *BASELINE[:6], 40, 41, 9000, partial_ends=True))
    assert judged.status == "insufficient_data"  # 6 + 2 complete months: one short
    assert volume(months(5, *BASELINE[:6], 40, 41, 39, 9000, partial_ends=True)).status == "ok"


@pytest.mark.parametrize("recorded", [(40,) * 8, (0, 1, 0, 1, 0, 1, 0, 1, 0, 40, 9)])
def test_too_few_months_or_cases_are_insufficient_data(recorded: tuple[int, ...]) -> None:
    assert volume(months(*recorded)).status == "insufficient_data"


def test_an_anomaly_is_an_open_force_level_finding_counted_in_the_row() -> None:
    counts = {
        "DUR": ForceCounts(recorded=600, monthly=months(*BASELINE, 300, 41, 39)),
        "MPS": ForceCounts(recorded=500, monthly=months(*BASELINE, 40, 41, 39)),
    }
    rows, _ = cross_force(counts, {})
    assert [(r.force, r.open_findings["volume_anomaly"]) for r in rows] == [("DUR", 1), ("MPS", 0)]
    [found] = volume_findings(rows, bootstrap.build().engine.ruleset.id)
    assert (found.force, found.kind, found.status, found.case_id) == (
        "DUR",
        "volume_anomaly",
        "open",
        None,
    )
    assert found.detected_at == 90
    assert "2025-09" in found.summary


def test_the_status_and_limits_are_exported_by_force_and_absent_without_a_baseline() -> None:
    counts = {
        "DUR": ForceCounts(recorded=600, monthly=months(*BASELINE, 300, 41, 39)),
        "MPS": ForceCounts(recorded=500, monthly=months(*BASELINE, 40, 41, 39)),
        "KENT": ForceCounts(recorded=5, monthly=months(1, 2, 2)),
    }
    rows, national = cross_force(counts, {})
    metrics = RefmonMetrics(CollectorRegistry())
    metrics.sync_rows(rows, national)
    text = generate_latest(metrics.registry).decode()
    assert 'refmon_force_volume_anomaly{force="DUR"} 1.0' in text
    assert 'refmon_force_volume_anomaly{force="MPS"} 0.0' in text
    assert 'refmon_force_volume_anomaly{force="KENT"}' not in text
    assert 'refmon_force_volume_limit_cases{bound="centre",force="MPS"} 40.875' in text
    assert 'refmon_findings_open{force="DUR",kind="volume_anomaly"} 1.0' in text
