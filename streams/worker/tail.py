"""A judge resumed from its snapshot catches up on the changelog records written after it.

The records are read in the order they were written (not as latest values): each
delivery is applied as it was judged, and each archive record retires the cases
it newly holds at the point where the worker retired them. Every case retired so
is checked against the archive record's copy of it, byte for byte: compaction may
have removed a retired case's deliveries from the tail, and then the copy differs
and the snapshot is not used. Anything else a tail cannot hold (an earlier
release's records) ends its use too; the caller then restores from the whole
changelog, as without a snapshot. Client-free: tested without a broker.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from refmon.streams.kafka.state import (
    ARCHIVE_PREFIX,
    RETIRED_SUFFIX,
    ArchiveRecord,
    archive_number,
    decode_late,
    decode_tick_clock,
    encode_case,
    is_late_key,
    is_tick_clock_key,
)
from refmon.streams.wire.delivery import CodecError, decode_delivery
from refmon.streams.worker.judge import PartitionJudge

Record = tuple[bytes, bytes | None]
"""A changelog record's key and value (None: a deletion)."""


class TailError(Exception):
    """The snapshot cannot be brought up to date from this tail: restore from the start."""


class Caught(NamedTuple):
    records: int
    retired: int
    """Cases the records retired."""


def catch_up(judge: PartitionJudge, records: Iterable[Record]) -> Caught:
    """Apply a changelog's records after a snapshot, in the order written."""
    last_archive: ArchiveRecord | None = None
    late = clock = None
    count = retired = 0
    for key, value in records:
        count += 1
        if value is None:
            continue  # a retired case's delivery (its archive record holds it) or a single
        if is_late_key(key):
            late = decode_late(value)
        elif is_tick_clock_key(key):
            try:
                clock = decode_tick_clock(value)
            except (ValueError, KeyError) as err:
                raise TailError(f"a tick clock record this release does not read ({err})") from err
        elif key.startswith(ARCHIVE_PREFIX):
            record = ArchiveRecord(archive_number(key), value)
            retired += _retire(judge, record)
            if last_archive is None or record.number >= last_archive.number:
                last_archive = record
        elif key.endswith(RETIRED_SUFFIX) or value[:1] == b"{":
            raise TailError("the changelog holds an earlier release's records")
        else:
            try:
                judge.catch_up(decode_delivery(value))
            except (CodecError, ValueError, KeyError) as err:
                raise TailError(f"a delivery this release does not read ({err})") from err
    if late is not None:
        try:
            judge.catch_up_late(late)
        except ValueError as err:
            raise TailError(str(err)) from err
    if last_archive is not None:
        judge.reopen_archive(last_archive)
    if clock is not None:
        judge.engine.advance(clock)  # what those ticks opened: announced already
    return Caught(count, retired)


def _retire(judge: PartitionJudge, record: ArchiveRecord) -> int:
    """Retire the cases an archive record holds that the judge still has live, each checked
    against the record's copy; how many."""
    retired = 0
    for folded in record.folded():
        force, case_id = folded.retired.force, folded.retired.case_id
        if judge.engine.is_retired(force, case_id):
            continue  # retired before: in the snapshot, or in this record's earlier version
        if not judge.is_live(force, case_id):
            raise TailError(f"a retired case of {force} is neither live nor retired here")
        if encode_case(judge.retire_case(force, case_id)) != encode_case(folded):
            raise TailError(f"a case of {force} retires otherwise than its archive record says")
        retired += 1
    return retired
