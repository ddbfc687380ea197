"""Working-day deadlines (docs/contract.md section 14): Monday to Friday, less bank holidays.

The bank holidays are data handed in (a frozenset of local dates), built outside
the engine from the `holidays` package (streams/bank_holidays.py): the engine
stays standard-library-only and its results depend only on what it is given.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date, timedelta, tzinfo

from refmon.streams.engine.timeutil import from_micros, local_midnight

_ONE_DAY = timedelta(days=1)


def is_working_day(day: date, holidays: Set[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def working_days_after(at_us: int, days: int, zone: tzinfo, holidays: Set[date]) -> int:
    """The end (24:00 local) of the `days`th working day after `at_us`'s local date."""
    day = from_micros(at_us).astimezone(zone).date()
    counted = 0
    while counted < days:
        day += _ONE_DAY
        if is_working_day(day, holidays):
            counted += 1
    # 24:00 of that day is 00:00 of the next: a wall-clock midnight, right across DST.
    return local_midnight(day + _ONE_DAY, zone)
