"""The archive record a by-force partition's retired cases join next.

Retired cases are kept many to a record (streams/kafka/archive.py). The open
record is rewritten whole as cases join it, and the next one opens when it is
full, by count or by bytes.
"""

from __future__ import annotations

from refmon.streams.kafka.state import (
    ARCHIVE_BYTES,
    ARCHIVE_CASES,
    ArchiveHead,
    ArchiveRecord,
    Folded,
    archive_key,
    encode_case,
)


class OpenArchive:
    def __init__(self) -> None:
        self.number = 0
        self.head = ArchiveHead()
        self.cases: list[bytes] = []
        self.size = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpenArchive):
            return NotImplemented
        return (self.number, self.cases) == (other.number, other.cases)

    __hash__ = None  # type: ignore[assignment]

    def reopen(self, last: ArchiveRecord) -> None:
        """The changelog's last archive record is the one retired cases join next."""
        self.number = last.number
        self.cases = last.encoded()
        self.size = sum(map(len, self.cases))
        # Written again in today's format as cases join it.
        self.head = ArchiveHead()
        for folded in last.folded():
            self.head.add(folded)

    def add(self, cases: list[Folded], partition: int) -> list[tuple[bytes, bytes]]:
        """Add retired cases, opening the next record when this one is full: each record
        written (key, value), once, as it stands after them all."""
        written: dict[int, tuple[ArchiveHead, list[bytes]]] = {}
        for case in cases:
            encoded = encode_case(case)
            full = len(self.cases) >= ARCHIVE_CASES
            if self.cases and (full or self.size + len(encoded) > ARCHIVE_BYTES):
                self.number += 1
                self.head, self.cases, self.size = ArchiveHead(), [], 0
            self.head.add(case)
            self.cases.append(encoded)
            self.size += len(encoded)
            written[self.number] = (self.head, self.cases)
        return [
            (archive_key(partition, number), head.value(chunk))
            for number, (head, chunk) in written.items()
        ]
