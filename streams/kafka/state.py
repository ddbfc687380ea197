"""The case changelog: what the workers keep on Kafka, and how an engine is rebuilt from it.

One record per delivery, keyed `FORCE/case_id@source`, in the compact encoding
(`refmon.streams.wire.delivery`): appending an event is one small write, and a record
written twice (a crash between a write and its commit) is the same record.
The topic is compacted and read as its latest value per key. A retired case's
deliveries are deleted (tombstones) once it is kept, folded, in an archive record
(`#retired/P/N`, many cases each); an earlier release's one record per retired case
(`FORCE/case_id@retired`) is still read, moved into the archive and deleted.

Releases before 0.2 kept one entry per case in another shape: the worker's
upgrade (streams/worker/upgrade.py) turns those into these records before
anything here reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

from refmon.streams.engine import Engine
from refmon.streams.kafka.archive import (
    ARCHIVE_BYTES,
    ARCHIVE_CASES,
    ARCHIVE_PREFIX,
    ARCHIVE_VERSION,
    ArchiveHead,
    ArchiveRecord,
    archive_key,
    archive_number,
    decode_archive,
    encode_archive,
    encode_case,
)
from refmon.streams.kafka.folded import RETIRED_SUFFIX, Folded, decode_folded, encode_folded
from refmon.streams.wire.delivery import Delivery, Source, decode_delivery

__all__ = [
    "ARCHIVE_BYTES",
    "ARCHIVE_CASES",
    "ARCHIVE_PREFIX",
    "ARCHIVE_VERSION",
    "LATE_DUPLICATES",
    "RETIRED_SUFFIX",
    "ArchiveHead",
    "ArchiveRecord",
    "Folded",
    "Held",
    "archive_key",
    "archive_number",
    "decode_archive",
    "decode_folded",
    "decode_late",
    "decode_tick_clock",
    "encode_archive",
    "encode_case",
    "encode_folded",
    "encode_late",
    "encode_tick_clock",
    "held",
    "is_late_key",
    "is_tick_clock_key",
    "late_key",
    "replay",
    "replay_order",
    "stays",
    "tick_clock_key",
]

LATE_DUPLICATES = b"#late-duplicates"
"""One record per partition, keyed `#late-duplicates/P`: where repeats of retired cases'
events came from (their count, and what the judge has applied, must survive a restore
like everything else). The partition is in the key because `refmon report` reads every
partition into one table; releases before wrote `#late-duplicates` alone, still read."""


TICK_CLOCK = b"#clock"
"""One record per partition, keyed `#clock/P`: the wall clock of the last tick that changed a
finding, written with that tick's outputs. A deadline passing with no event opens a
finding that no delivery records; a restore moves its engine's clock there, so that the
findings those ticks announced are not announced again."""


def tick_clock_key(partition: int) -> bytes:
    return TICK_CLOCK + f"/{partition}".encode()


def is_tick_clock_key(key: bytes) -> bool:
    return key.startswith(TICK_CLOCK + b"/")


def encode_tick_clock(clock_us: int) -> bytes:
    return json.dumps({"version": 1, "clock_us": clock_us}).encode()


def decode_tick_clock(value: bytes) -> int:
    clock = json.loads(value)["clock_us"]
    if not isinstance(clock, int):
        raise ValueError("a tick clock record without a clock")
    return clock


def stays(key: bytes | None, value: bytes | None) -> bool:
    """Whether a record stays in the compacted log until its case retires: a delivery, not a
    deletion or a record refmon rewrites (keys starting with `#`: archive records, late
    repeats, the tick clock), whose earlier values compaction removes."""
    return value is not None and not (key or b"").startswith(b"#")


def late_key(partition: int) -> bytes:
    return LATE_DUPLICATES + f"/{partition}".encode()


def is_late_key(key: bytes) -> bool:
    return key == LATE_DUPLICATES or key.startswith(LATE_DUPLICATES + b"/")


def encode_late(sources: list[Source]) -> bytes:
    return json.dumps({"version": 1, "sources": [list(s) for s in sources]}).encode()


def decode_late(value: bytes) -> list[Source]:
    return [Source(*s) for s in json.loads(value)["sources"]]


class Held(NamedTuple):
    """What a changelog holds: live deliveries, retired cases folded, and repeats of
    retired cases' events."""

    deliveries: list[Delivery]
    folded: list[Folded]
    """The retired cases read whole at once: records of one case each, and archive
    records of an earlier format (each case once)."""
    late: tuple[Source, ...] = ()
    archive: tuple[ArchiveRecord, ...] = ()
    """The archive records, in number order; the lazy ones' cases are in no other field."""
    single: tuple[tuple[bytes, Folded | None], ...] = ()
    """Records of one retired case each (key, and the case when no archive holds it): an
    earlier release's, to move into the archive and delete."""
    clock: int | None = None
    """The wall clock of the last tick that changed a finding (`TICK_CLOCK`); None: none."""

    def retired_count(self) -> int:
        return len(self.folded) + sum(r.head.case_count() for r in self.archive if r.lazy)

    def all_folded(self) -> list[Folded]:
        """Every retired case, whole (reads every archive record: for tools, not restores)."""
        return [f for r in self.archive if r.lazy for f in r.folded()] + self.folded


def held(records: Mapping[bytes, bytes | None]) -> Held:
    """What a changelog's latest values hold (deletions dropped).

    A case folded while its deliveries' deletions were still being written has
    both: the folded record wins, so nothing counts twice; so does a case both
    archived and in a record of its own (an archiving interrupted by a crash).
    """
    found: list[Delivery] = []
    archive: list[ArchiveRecord] = []
    single: list[tuple[bytes, Folded]] = []
    late: list[Source] = []
    clock: int | None = None
    for key, value in records.items():
        if value is None:
            continue
        if is_late_key(key):
            late += decode_late(value)
        elif is_tick_clock_key(key):
            # `refmon report` reads every partition into one table: the latest of them.
            clock = max(decode_tick_clock(value), clock or 0)
        elif key.startswith(ARCHIVE_PREFIX):
            archive.append(ArchiveRecord(archive_number(key), value))
        elif key.endswith(RETIRED_SUFFIX):
            single.append((key, decode_folded(value)))
        else:
            found.append(decode_delivery(value))
    archive.sort(key=lambda record: record.number)
    archived = {
        (force, case_id)
        for record in archive
        for force, case_ids in record.head.forces.items()
        for case_id in case_ids
    }
    if len(archived) != sum(r.head.case_count() for r in archive):
        # A case in two archive records (no release writes that): read them all, and the
        # later record's copy wins, as with every other repeat here.
        for record in archive:
            record.read_whole()
    folded = {_case(f): f for r in archive if not r.lazy for f in r.folded()}
    singles = tuple(
        (key, None if _case(f) in folded or _case(f) in archived else f) for key, f in single
    )
    for _, f in single:
        if _case(f) not in archived:
            folded.setdefault(_case(f), f)
    gone = archived.union(folded)
    if gone:
        found = [d for d in found if (d.event.force, d.event.case_id) not in gone]
    # A source is applied once, so one in two records (an earlier release's key and
    # today's) is the same repeat.
    late_sources = tuple(dict.fromkeys(late))
    return Held(found, list(folded.values()), late_sources, tuple(archive), singles, clock)


def _case(folded: Folded) -> tuple[str, str]:
    return folded.retired.force, folded.retired.case_id


def replay_order(delivery: Delivery) -> tuple[int, str, str, int, int]:
    """Event-time order, ties settled by id and source: any arrival order gives one replay."""
    source, event = delivery.source, delivery.event
    return (event.occurred_at_us, event.event_id, source.name, source.partition, source.offset)


def replay(
    engine: Engine,
    stored: Held,
    chunk: int = 0,
    note: Callable[[Source], None] = lambda _source: None,
    keep: Callable[[Delivery], None] = lambda _delivery: None,
) -> Iterator[int]:
    """Apply a changelog's contents to a fresh engine: retired cases first, then deliveries
    in event-time order (repeats count as duplicates). The one replay path: a worker's
    partition restore and `refmon report` both run it.

    `note` hears what was applied before: per source partition the highest offset a
    retired case holds, then every late repeat's source; `keep` every live
    delivery just before it is applied; with `chunk`, yields every `chunk` deliveries, so a
    worker can let its event loop run.
    """
    # What a judge has applied is the highest offset per source partition: one note
    # each, not one per retired case's delivery.
    highest: dict[tuple[str, int], int] = {}
    for record in stored.archive:
        if record.lazy:
            engine.absorb_archive(record.archived())
            _highest(highest, record.head.sources.items())
    for folded in stored.folded:
        engine.absorb(folded.retired, folded.ids, folded.valid, folded.duplicate)
        _highest(highest, (((name, p), offset) for name, p, offset in folded.sources))
    for (name, partition), offset in highest.items():
        note(Source(name, partition, offset))
    engine.duplicate += len(stored.late)
    for source in stored.late:
        note(source)
    for n, delivery in enumerate(sorted(stored.deliveries, key=replay_order), 1):
        keep(delivery)
        engine.apply(delivery.event, delivery.received_at_us)
        if chunk and n % chunk == 0:
            yield n
    if stored.clock is not None:
        engine.advance(stored.clock)  # what those ticks opened: announced already


def _highest(
    highest: dict[tuple[str, int], int], offsets: Iterable[tuple[tuple[str, int], int]]
) -> None:
    for where, offset in offsets:
        if offset > highest.get(where, -1):
            highest[where] = offset
