"""Timestamps out of range (docs/contract.md section 13), checked before the engine sees an event.

One force's bad clock must never move the monitor's clock, and with it every
other force's deadlines: an event from more than a day in the future, or from
before 2000, is a dead letter instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from refmon.schemas.rejections import Rejection
from refmon.streams.engine.timeutil import MICROS_PER_HOUR, format_utc, to_micros

FUTURE_TOLERANCE_US = 24 * MICROS_PER_HOUR
EARLIEST_US = to_micros(datetime(2000, 1, 1, tzinfo=UTC))


def latest_allowed(received_at_us: int) -> int:
    return received_at_us + FUTURE_TOLERANCE_US


def out_of_range(
    field: str, at_us: int, received_at_us: int, received: str = "it was received"
) -> Rejection | None:
    """Why `at_us` cannot be judged when received at `received_at_us`, or None if it can."""
    if at_us > latest_allowed(received_at_us):
        return Rejection(
            "future_timestamp",
            f"{field}: {format_utc(at_us)} is more than 24 hours after {received} "
            f"({format_utc(received_at_us)})",
        )
    if at_us < EARLIEST_US:
        return Rejection(
            "implausible_timestamp", f"{field}: {format_utc(at_us)} is before 2000-01-01"
        )
    return None
