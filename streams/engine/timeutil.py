"""Conversions between the engine's integer microseconds and aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the epoch; `moment` must be aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place on the event-time axis")
    return (moment - _EPOCH) // _ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def format_utc(micros: int) -> str:
    """RFC 3339 in UTC with `Z`; fractional seconds only when there are any."""
    moment = from_micros(micros)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def end_of_following_day(duty_us: int, zone: tzinfo, days_after: int = 1) -> int:
    """00:00 local time on the duty's local date + days_after + 1.

    The referral is due by the end of the day following the day the duty arose,
    in local time: for a duty on local date D that is before 00:00 on D + 2.
    Local midnight always exists in Europe/London (its clocks change at 01:00 UTC).
    """
    local_date = from_micros(duty_us).astimezone(zone).date()
    due_date = local_date + timedelta(days=days_after + 1)
    return to_micros(datetime.combine(due_date, time(0), tzinfo=zone))


def local_label(micros: int, zone: tzinfo) -> str:
    """A human-readable local time for summaries, e.g. `2026-03-30 00:00 BST`."""
    return from_micros(micros).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
