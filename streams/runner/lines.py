"""JSON Lines input, read as bytes with a bound on each line's length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

DEFAULT_MAX_LINE_BYTES = 1 << 20
BLOCK_BYTES = 1 << 20
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    data: bytes | None
    """None when the line was longer than the limit (its bytes are not kept)."""
    size: int


def read_lines(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Line]:
    """Yield every non-blank line; an over-long line is skipped to its end, never held.

    Reads in blocks and splits them in C: a Python call per line would cost
    more than parsing it.
    """
    number = 0
    pending = b""
    overflow = 0  # bytes of an over-long line discarded so far
    for block in _blocks(stream):
        parts = (pending + block).split(b"\n")
        pending = parts.pop()
        for part in parts:
            number += 1
            if overflow:
                yield Line(number, None, overflow + len(part))
                overflow = 0
            elif len(part) > max_bytes:
                yield Line(number, None, len(part))
            elif part.strip():
                yield Line(number, part.rstrip(b"\r"), len(part))
        if len(pending) > max_bytes:
            overflow += len(pending)
            pending = b""
    if overflow or pending:
        number += 1
        if overflow:
            yield Line(number, None, overflow + len(pending))
        elif len(pending) > max_bytes:
            yield Line(number, None, len(pending))
        elif pending.strip():
            yield Line(number, pending.rstrip(b"\r"), len(pending))


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """The stream in blocks, less a UTF-8 byte-order mark at its very start.

    Some Windows editors and exports begin a UTF-8 file with one; JSON forbids
    it, so it would otherwise cost the first event. Anywhere else it stays.
    """
    head = b""
    while len(head) < len(BOM) and (block := stream.read(BLOCK_BYTES)):
        head += block
    if head := head.removeprefix(BOM):
        yield head
    while block := stream.read(BLOCK_BYTES):
        yield block
