"""Outliers as Prometheus metrics: counts by force, measure and state, overdue ones by owner."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from refmon.streams.metrics import RefmonMetrics

from tests.factories import judge
from tests.outlier_world import OUTLIER, action, background


def _exported(events: list[dict[str, object]], as_of: str) -> str:
    engine = judge(events, as_of=as_of)
    report = engine.report(365)
    metrics = RefmonMetrics(CollectorRegistry())
    metrics.sync_statistics(
        report.forces, report.national, engine.referral_delays(365), report.outliers
    )
    return generate_latest(metrics.registry).decode()


def test_an_overdue_data_check_is_the_watchdogs_and_counted_by_state_not_by_id() -> None:
    # Opened 2025-12-01; the data check is due in 10 working days, long past by February.
    text = _exported(background(), "2026-02-01T00:00:00Z")
    assert 'refmon_outliers{force="DUR",measure="compliance",state="data_check"} 1.0' in text
    assert 'refmon_outliers{force="ASP",measure="compliance",state="data_check"} 0.0' in text
    assert 'refmon_outliers_overdue{force="DUR",owner="watchdog"} 1.0' in text
    assert 'refmon_outliers_overdue{force="DUR",owner="force"} 0.0' in text
    assert OUTLIER not in text


def test_an_overdue_response_is_the_forces_and_the_count_moves_with_the_state() -> None:
    events = [
        *background(),
        action("outlier.checked", "2025-12-02T10:00:00Z", "w1", outcome="confirmed"),
        action("outlier.notified", "2025-12-03T10:00:00Z", "w2"),
    ]
    text = _exported(events, "2026-03-01T00:00:00Z")
    assert 'refmon_outliers{force="DUR",measure="compliance",state="awaiting_response"} 1.0' in text
    assert 'refmon_outliers{force="DUR",measure="compliance",state="data_check"} 0.0' in text
    assert 'refmon_outliers_overdue{force="DUR",owner="force"} 1.0' in text
    assert 'refmon_outliers_overdue{force="DUR",owner="watchdog"} 0.0' in text
