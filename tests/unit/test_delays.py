"""The referral-delay snapshot behind `refmon_force_referral_delay_seconds`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from refmon.streams.engine.case import CaseState
from refmon.streams.engine.delays import DELAY_BOUNDS_US, DelayHistogram, delay_histogram
from refmon.streams.engine.timeutil import MICROS_PER_DAY, MICROS_PER_HOUR
from refmon.streams.metrics import RefmonMetrics

DAY = MICROS_PER_DAY
AS_OF = 400 * DAY


def _case(duty_at: int | None, referral_at: int | None) -> CaseState:
    return CaseState(recorded_at=duty_at, duty_at=duty_at, claim_at=referral_at)


def test_each_delay_lands_in_its_bucket_with_inclusive_upper_bounds() -> None:
    duty = AS_OF - 10 * DAY
    cases = [
        _case(duty, duty + MICROS_PER_HOUR),  # exactly 1 h: the first bucket (le is inclusive)
        _case(duty, duty + MICROS_PER_HOUR + 1),  # just over: the second
        _case(duty, duty + 40 * DAY),  # beyond the last bound: overflow
        _case(duty, duty - DAY),  # referred before the duty arose: no delay
    ]
    histogram = delay_histogram(cases, AS_OF, 365)
    assert histogram.counts[0] == 2
    assert histogram.counts[1] == 1
    assert histogram.counts[-1] == 1
    assert histogram.count == 4
    assert histogram.sum_us == MICROS_PER_HOUR + (MICROS_PER_HOUR + 1) + 40 * DAY


def test_only_referred_mandatory_cases_with_duty_in_the_window_count() -> None:
    cases = [
        _case(AS_OF - 366 * DAY, AS_OF - 365 * DAY),  # duty before the window
        _case(AS_OF - 365 * DAY, AS_OF),  # duty on the window's open start: out
        _case(AS_OF - DAY, None),  # not referred yet
        _case(None, AS_OF - DAY),  # voluntary referral: no duty
        _case(AS_OF, AS_OF),  # duty at as_of: in, with no delay
    ]
    histogram = delay_histogram(cases, AS_OF, 365)
    assert histogram.count == 1
    assert histogram.counts[0] == 1
    assert delay_histogram(cases, None, 365).count == 0


def test_the_receipt_is_the_referral_time_when_there_is_one() -> None:
    duty = AS_OF - DAY
    case = CaseState(duty_at=duty, claim_at=duty + DAY, received_at=duty + 2 * MICROS_PER_HOUR)
    assert delay_histogram([case], AS_OF, 365).sum_us == 2 * MICROS_PER_HOUR


def test_metrics_expose_cumulative_buckets_and_drop_partitions_no_longer_assigned() -> None:
    metrics = RefmonMetrics(CollectorRegistry())
    counts = (1, 0, 2) + (0,) * (len(DELAY_BOUNDS_US) - 2)
    metrics.sync_delays({"DUR": DelayHistogram(DELAY_BOUNDS_US, counts, 5 * MICROS_PER_HOUR)})
    metrics.sync_lag({("t-by-force", 0): 7, ("t-by-force", 1): 0})
    metrics.sync_lag({("t-by-force", 1): 3})
    text = generate_latest(metrics.registry).decode()
    name = "refmon_force_referral_delay_seconds"
    assert f'{name}_bucket{{force="DUR",le="3600.0"}} 1.0' in text
    assert f'{name}_bucket{{force="DUR",le="21600.0"}} 1.0' in text
    assert f'{name}_bucket{{force="DUR",le="43200.0"}} 3.0' in text
    assert f'{name}_bucket{{force="DUR",le="+Inf"}} 3.0' in text
    assert f'{name}_sum{{force="DUR"}} 18000.0' in text
    assert 'refmon_consumer_lag_messages{partition="1",topic="t-by-force"} 3.0' in text
    assert 'partition="0"' not in text
