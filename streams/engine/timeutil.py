"""Conversions between the engine's integer microseconds and aware datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MIN_MICROS = (datetime(1900, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
MAX_MICROS = (datetime(9000, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
"""The times the engine judges: deadlines, windows and labels derived from any
moment in [MIN_MICROS, MAX_MICROS) stay within what datetime can represent."""
_ONE_MICROSECOND = timedelta(microseconds=1)


_EPOCH_ORDINAL = _EPOCH.toordinal()
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the epoch; `moment` must be aware.

    Any aware datetime converts, even one whose UTC instant falls outside the
    years datetime can hold (0001-01-01T05:00+14:00), so that range checks, not
    arithmetic errors, decide what happens to it.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a naive datetime has no place on the event-time axis")
    try:
        return (moment - _EPOCH) // _ONE_MICROSECOND
    except OverflowError:
        days = moment.toordinal() - _EPOCH_ORDINAL
        seconds = days * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second
        return seconds * MICROS_PER_SECOND + moment.microsecond - offset // _ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def format_utc(micros: int) -> str:
    """RFC 3339 in UTC with `Z`; fractional seconds only when there are any."""
    try:
        m = from_micros(micros)
    except OverflowError:
        edge = _FIRST if micros < 0 else _LAST
        return ("before " if micros < 0 else "after ") + format_utc(to_micros(edge))
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if m.microsecond:
        text += f".{m.microsecond:06d}".rstrip("0")
    return text + "Z"


def local_midnight(day: date, zone: tzinfo) -> int:
    """00:00 local time on `day`: the one helper for every local midnight (deadlines,
    months, review points). Local midnight always exists in Europe/London."""
    return to_micros(datetime.combine(day, time(0), tzinfo=zone))


def end_of_following_day(duty_us: int, zone: tzinfo, days_after: int = 1) -> int:
    """00:00 local time on the duty's local date + days_after + 1.

    The referral is due by the end of the day following the day the duty arose,
    in local time: for a duty on local date D that is before 00:00 on D + 2.
    Local midnight always exists in Europe/London (its clocks change at 01:00 UTC).
    """
    local_date = from_micros(duty_us).astimezone(zone).date()
    due_date = local_date + timedelta(days=days_after + 1)
    return local_midnight(due_date, zone)


class Deadlines:
    """`end_of_following_day`, remembering the local day it last worked out.

    Events come roughly in time order and a linked case's change moves many
    duties to one moment, so most calls fall in the day asked about last, and a
    comparison replaces a time-zone conversion.
    """

    __slots__ = ("_days_after", "_deadline", "_end", "_start", "_zone")

    def __init__(self, zone: tzinfo, days_after: int) -> None:
        self._zone = zone
        self._days_after = days_after
        self._start = self._end = self._deadline = 0

    def after(self, duty_us: int) -> int:
        if self._start <= duty_us < self._end:
            return self._deadline
        deadline = end_of_following_day(duty_us, self._zone, self._days_after)
        local_date = from_micros(duty_us).astimezone(self._zone).date()
        start = local_midnight(local_date, self._zone)
        next_date = local_date + timedelta(days=1)
        end = local_midnight(next_date, self._zone)
        # Remembered only when the day's bounds are exact (local midnight exists).
        if self._local_date(start) == local_date == self._local_date(end - 1):
            self._start, self._end, self._deadline = start, end, deadline
        return deadline

    def _local_date(self, micros: int) -> object:
        return from_micros(micros).astimezone(self._zone).date()


@lru_cache(maxsize=4096)
def local_label(micros: int, zone: tzinfo) -> str:
    """A human-readable local time for summaries, e.g. `2026-03-30 00:00 BST`."""
    return from_micros(micros).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
