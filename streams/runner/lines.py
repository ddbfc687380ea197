"""JSON Lines input, read as bytes with a bound on each line's length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

DEFAULT_MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    data: bytes | None
    """None when the line was longer than the limit (its bytes are not kept)."""
    size: int


def read_lines(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Line]:
    """Yield every non-blank line; an over-long line is skipped to its end, not held."""
    number = 0
    while True:
        chunk = stream.readline(max_bytes + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            size = len(chunk)
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(max_bytes + 1)
                size += len(chunk)
            yield Line(number, None, size - (1 if chunk.endswith(b"\n") else 0))
            continue
        data = chunk.rstrip(b"\r\n")
        if data.strip():
            yield Line(number, data, len(data))
