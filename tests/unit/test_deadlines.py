"""Deadlines in Europe/London: end of the day after the duty day, across both 2026 clock changes."""

from __future__ import annotations

import pytest
from refmon.streams.engine.timeutil import format_utc

from tests.factories import judge, micros, received, recorded


def deadline_for(duty: str) -> str:
    engine = judge([recorded(duty, categories=["serious_assault"])])
    snap = engine.snapshot("DUR", "c1")
    assert snap is not None
    assert snap.deadline is not None
    return format_utc(snap.deadline)


@pytest.mark.parametrize(
    ("duty", "deadline"),
    [
        # Winter (GMT = UTC): duty on local 10 Jan, due before local 00:00 on 12 Jan.
        ("2026-01-10T12:00:00Z", "2026-01-12T00:00:00Z"),
        # Spring forward, Sunday 29 March 2026 01:00 UTC.
        (
            "2026-03-28T23:30:00Z",
            "2026-03-29T23:00:00Z",
        ),  # local 28 Mar 23:30 GMT -> 30 Mar 00:00 BST
        ("2026-03-29T00:30:00Z", "2026-03-30T23:00:00Z"),  # local 29 Mar 00:30 GMT
        (
            "2026-03-29T01:00:00Z",
            "2026-03-30T23:00:00Z",
        ),  # local 29 Mar 02:00 BST, the first BST instant
        ("2026-03-29T22:59:59Z", "2026-03-30T23:00:00Z"),  # local 29 Mar 23:59:59 BST
        ("2026-03-29T23:00:00Z", "2026-03-31T23:00:00Z"),  # local 30 Mar 00:00 BST
        # Fall back, Sunday 25 October 2026 01:00 UTC.
        (
            "2026-10-24T22:30:00Z",
            "2026-10-26T00:00:00Z",
        ),  # local 24 Oct 23:30 BST -> 26 Oct 00:00 GMT
        ("2026-10-24T23:30:00Z", "2026-10-27T00:00:00Z"),  # local 25 Oct 00:30 BST
        (
            "2026-10-25T00:30:00Z",
            "2026-10-27T00:00:00Z",
        ),  # local 01:30 BST (first of the repeated hour)
        (
            "2026-10-25T01:30:00Z",
            "2026-10-27T00:00:00Z",
        ),  # local 01:30 GMT (second of the repeated hour)
        # Local midnight in summer, given with an offset.
        ("2026-06-01T00:00:00+01:00", "2026-06-02T23:00:00Z"),
        ("2026-05-31T23:59:59.999999+01:00", "2026-06-01T23:00:00Z"),
        ("2026-06-01T01:30:00+02:00", "2026-06-02T23:00:00Z"),  # 31 May 23:30 UTC = 1 Jun 00:30 BST
    ],
)
def test_deadline_is_local_midnight_two_days_after_the_duty_day(duty: str, deadline: str) -> None:
    assert deadline_for(duty) == deadline


def test_a_receipt_one_microsecond_before_the_deadline_is_on_time_and_at_it_is_late() -> None:
    duty = "2026-03-28T23:30:00Z"
    on_time = judge(
        [recorded(duty, categories=["serious_assault"]), received("2026-03-29T22:59:59.999999Z")]
    )
    late = judge([recorded(duty, categories=["serious_assault"]), received("2026-03-29T23:00:00Z")])
    assert not [f for f in on_time.findings() if f.kind == "late_referral"]
    assert [f.kind for f in late.findings() if f.status == "open"] == ["late_referral"]


def test_a_missed_referral_opens_exactly_when_the_clock_reaches_the_deadline() -> None:
    engine = judge([recorded("2026-10-24T22:30:00Z", categories=["serious_assault"])])
    engine.advance(micros("2026-10-25T23:59:59.999999Z"))
    assert not list(engine.findings())
    changes = engine.advance(micros("2026-10-26T00:00:00Z"))
    assert [(c.change, c.finding.kind) for c in changes] == [("opened", "missed_referral")]
