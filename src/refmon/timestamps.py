"""Parsing timestamps given on the command line, by the contract's own rules."""

from __future__ import annotations

from refmon.environment import UsageError
from refmon.schemas.types import parse_timestamp
from refmon.streams.engine.timeutil import to_micros


def parse_cli_timestamp(option: str, value: str) -> int:
    try:
        return to_micros(parse_timestamp(value))
    except ValueError as err:
        raise UsageError(f"{option} {value!r}: {err}") from None
