"""Parsing timestamps given on the command line, by the contract's own rules."""

from __future__ import annotations

import time

from refmon.environment import UsageError
from refmon.schemas.types import parse_timestamp
from refmon.streams.engine.timeutil import to_micros
from refmon.streams.time_range import out_of_range


def parse_cli_timestamp(option: str, value: str, now_us: int | None = None) -> int:
    """An RFC 3339 time with an offset, held to the bounds events are held to (section 13)."""
    try:
        at = to_micros(parse_timestamp(value))
    except ValueError as err:
        raise UsageError(f"{option} {value!r}: {err}") from None
    received = int(time.time() * 1_000_000) if now_us is None else now_us
    rejection = out_of_range(option, at, received, "the wall clock")
    if rejection is not None:
        raise UsageError(rejection.message)
    return at
