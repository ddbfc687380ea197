"""The new per-force figures as Prometheus metrics: present when defined, never a case id."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, generate_latest
from refmon.streams.metrics import Activity, RefmonMetrics

from tests.factories import decision, judge, received, recorded
from tests.worlds import day_at, one_late_force


def test_cusum_outcomes_and_the_deterioration_finding_are_exported_by_force() -> None:
    events = [
        *one_late_force(),
        decision(day_at(30), case="d1", decision="referred_back"),
        decision(day_at(30), case="d2", decision="local"),
        recorded(day_at(1), case="q1", force="KENT", categories=["serious_assault"]),
        received(day_at(1, 1), case="q1", force="KENT"),
    ]
    engine = judge(events, as_of=day_at(60))
    metrics = RefmonMetrics(CollectorRegistry())
    report = engine.report(365)
    metrics.sync_statistics(report.forces, report.national, engine.referral_delays(365))
    # The event counts refresh more often than the report: they must not reset the
    # force-level finding the report set.
    metrics.sync_activity(Activity.of([engine], Counter(), Counter(), engine.forces))
    text = generate_latest(metrics.registry).decode()
    assert 'refmon_findings_open{force="DUR",kind="deterioration"} 1.0' in text
    assert 'refmon_findings_open{force="MPS",kind="deterioration"} 0.0' in text
    assert 'refmon_force_timeliness_signal{force="DUR"} 1.0' in text
    assert 'refmon_force_timeliness_signals{force="DUR"} 1.0' in text
    assert 'refmon_force_timeliness_cusum{force="MPS"} 0.0' in text
    # 2026-01-20T00:00:00Z, the deadline of the signal.
    assert (
        'refmon_force_timeliness_last_signal_timestamp_seconds{force="DUR"} 1.7688672e+09' in text
    )
    assert 'refmon_force_timeliness_last_signal_timestamp_seconds{force="MPS"}' not in text
    # One due case at KENT: too little to chart, so absent rather than 0.
    assert 'refmon_force_timeliness_cusum{force="KENT"}' not in text
    assert 'refmon_force_timeliness_signal{force="KENT"}' not in text
    assert 'refmon_force_referral_decisions{decision="referred_back",force="DUR"} 1.0' in text
    assert 'refmon_force_referral_decisions{decision="independent",force="DUR"} 0.0' in text
    assert 'refmon_force_returned_share_ratio{force="DUR"} 0.5' in text
    assert 'refmon_force_returned_share_zscore{force="DUR"}' not in text  # under 5 decided
    assert 'refmon_national_ratio{measure="returned_share"} 0.5' in text
    assert 'refmon_cusum_parameter{measure="timeliness",parameter="h"} 6.0' in text
    assert 'refmon_cusum_parameter{measure="timeliness",parameter="p0"}' in text
    assert "d1" not in text
    assert "q1" not in text
