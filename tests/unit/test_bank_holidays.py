"""The pinned `holidays` package gives the bank holidays GOV.UK publishes for England and
Wales (https://www.gov.uk/bank-holidays), and working days skip them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from refmon.streams.bank_holidays import england_and_wales
from refmon.streams.engine.timeutil import format_utc, to_micros
from refmon.streams.engine.workdays import working_days_after

LONDON = ZoneInfo("Europe/London")
PUBLISHED = {
    2024: [(1, 1), (3, 29), (4, 1), (5, 6), (5, 27), (8, 26), (12, 25), (12, 26)],
    2025: [(1, 1), (4, 18), (4, 21), (5, 5), (5, 26), (8, 25), (12, 25), (12, 26)],
    # Boxing Day 2026 is a Saturday: the substitute day is Monday 28 December.
    2026: [(1, 1), (4, 3), (4, 6), (5, 4), (5, 25), (8, 31), (12, 25), (12, 28)],
}


def test_the_weekday_bank_holidays_are_those_published_for_2024_to_2026() -> None:
    table = england_and_wales()
    for year, days in PUBLISHED.items():
        held = sorted(d for d in table if d.year == year and d.weekday() < 5)
        assert held == [date(year, m, d) for m, d in days]


def due(at: str, days: int) -> str:
    moment = datetime.fromisoformat(at).astimezone(UTC)
    return format_utc(working_days_after(to_micros(moment), days, LONDON, england_and_wales()))


def test_working_days_count_from_the_day_after_and_end_at_local_midnight() -> None:
    # Friday 4 April 2025 (BST): Monday 7 ... Thursday 17, skipping no holiday yet.
    assert due("2025-04-04T15:00:00+01:00", 9) == "2025-04-17T23:00:00Z"
    # The tenth would be Good Friday, then Easter Monday: Tuesday 22 April.
    assert due("2025-04-04T15:00:00+01:00", 10) == "2025-04-22T23:00:00Z"


def test_a_late_evening_utc_instant_counts_from_its_london_date() -> None:
    # 23:30Z on Thursday 31 July 2025 is already Friday 1 August in London.
    assert due("2025-07-31T23:30:00Z", 1) == "2025-08-04T23:00:00Z"


def test_working_days_cross_the_autumn_clock_change_at_local_midnight() -> None:
    # Friday 24 October 2025 (BST); the 5th working day is Friday 31 (GMT by then).
    assert due("2025-10-24T12:00:00Z", 5) == "2025-11-01T00:00:00Z"
