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
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from refmon.streams.engine import Engine, Finding
from refmon.streams.engine.case import CaseState, DecisionRecord
from refmon.streams.engine.retirement import Retired
from refmon.streams.wire.delivery import Delivery, Source, decode_delivery

RETIRED_SUFFIX = b"@retired"


class Folded(NamedTuple):
    """A retired case, as its partition's changelog keeps it once its deliveries are gone."""

    retired: Retired
    ids: tuple[tuple[str, str], ...]
    """Its events' (scope, id): a late repeat is still a duplicate."""
    sources: tuple[tuple[str, int, int], ...]
    """Where each of its deliveries came from (name, partition, offset): what a judge has
    applied stays known. Plain tuples when read from an archive record: a restore reads
    hundreds of thousands, and only the highest offset per source partition is used."""
    valid: int
    duplicate: int

    @property
    def key(self) -> bytes:
        return f"{self.retired.force}/{self.retired.case_id}".encode() + RETIRED_SUFFIX


def _review_fields(review: CaseState | None) -> list[Any] | None:
    if review is None:
        return None
    decision = None if review.decision is None else list(review.decision)
    return [
        review.recorded_at,
        review.claim_at,
        review.received_at,
        decision,
        review.duty_at,
        review.deadline_at,
    ]


def _review(fields: list[Any] | None) -> CaseState | None:
    if fields is None:
        return None
    recorded, claim, received, decision, duty, deadline = fields
    return CaseState(
        recorded_at=recorded,
        claim_at=claim,
        received_at=received,
        decision=None if decision is None else DecisionRecord(*decision),
        duty_at=duty,
        deadline_at=deadline,
    )


def _folded_body(folded: Folded) -> dict[str, Any]:
    retired = folded.retired
    return {
        "version": 2,
        "force": retired.force,
        "case_id": retired.case_id,
        "own_duty_at": retired.own_duty_at,
        "findings": [list(f) for f in retired.findings],
        # Format 2: what the review points and last year's window still count.
        "review": _review_fields(retired.review),
        "decisions": [list(d) for d in retired.decisions],
        "first_at": retired.first_at,
        "ids": [list(i) for i in folded.ids],
        "sources": [list(s) for s in folded.sources],
        "valid": folded.valid,
        "duplicate": folded.duplicate,
    }


def _folded_from(body: dict[str, Any]) -> Folded:
    # Every retired case is decoded on every restore (tens of thousands after a few
    # years): built with map and _make, no per-item generator or argument unpacking.
    if body.get("version") not in (1, 2):
        raise ValueError(
            f"retired-case format {body.get('version')!r} is not one this release reads"
        )
    findings = tuple(map(_finding, body["findings"]))
    decisions = body.get("decisions")
    retired = Retired(
        body["force"],
        body["case_id"],
        body["own_duty_at"],
        findings,
        _review(body.get("review")),
        tuple(map(DecisionRecord._make, decisions)) if decisions else (),
        body.get("first_at"),
    )
    return Folded(
        retired,
        tuple(map(tuple, body["ids"])),  # pairs, as written
        tuple(map(Source._make, body["sources"])),
        int(body["valid"]),
        int(body["duplicate"]),
    )


def _finding(fields: list[Any]) -> Finding:
    fields[5] = tuple(fields[5])
    return Finding._make(fields)


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def encode_folded(folded: Folded) -> bytes:
    """One retired case in a record of its own: what releases before the archive wrote."""
    return _dumps(_folded_body(folded))


def decode_folded(value: bytes) -> Folded:
    return _folded_from(json.loads(value))


ARCHIVE_PREFIX = b"#retired/"
"""Retired cases, many to a record, keyed `#retired/P/N` (P the partition, N = 0, 1, ...):
the changelog keeps one record per ARCHIVE_CASES retired cases, not one per case, so
that compaction leaves it proportional to the live cases (docs/kafka.md). The partition
is in the key because `refmon report` reads every partition into one table."""

ARCHIVE_CASES = 500
"""At most this many cases in one archive record,"""
ARCHIVE_BYTES = 256 * 1024
"""and at most this many bytes (unless one case alone is more): well inside the 1 MiB a
Kafka message may be by default."""


def archive_key(partition: int, number: int) -> bytes:
    return ARCHIVE_PREFIX + f"{partition}/{number}".encode()


def archive_number(key: bytes) -> int:
    return int(key.rpartition(b"/")[2])


ARCHIVE_VERSION = 2
"""Format 2 holds each case as a list (`_case_fields`), not an object with named fields:
a restore parses every retired case, and keys and per-item pairs were most of the cost
(bench/restore.py). Format 1 (objects, `_folded_body`) is still read."""


def _case_fields(folded: Folded) -> list[Any]:
    retired = folded.retired
    return [
        retired.force,
        retired.case_id,
        retired.own_duty_at,
        [list(f) for f in retired.findings],
        _review_fields(retired.review),
        [list(d) for d in retired.decisions],
        retired.first_at,
        [part for pair in folded.ids for part in pair],  # scope, id, scope, id, ...
        [part for source in folded.sources for part in source],  # name, partition, offset
        folded.valid,
        folded.duplicate,
    ]


def _case_from(fields: list[Any]) -> Folded:
    force, case_id, own, findings, review, decisions, first, ids, sources, valid, dup = fields
    pairs, triples = iter(ids), iter(sources)
    retired = Retired(
        force,
        case_id,
        own,
        tuple(map(_finding, findings)),
        _review(review),
        tuple(map(DecisionRecord._make, decisions)) if decisions else (),
        first,
    )
    return Folded(
        retired,
        tuple(zip(pairs, pairs, strict=True)),
        tuple(zip(triples, triples, triples, strict=True)),
        valid,
        dup,
    )


def encode_case(folded: Folded) -> bytes:
    """One case as an archive record holds it (`archive_value` joins them)."""
    return _dumps(_case_fields(folded))


def archive_value(cases: Sequence[bytes]) -> bytes:
    """An archive record of cases each encoded once (`encode_case`): a record rewritten
    as cases join it costs a join, not encoding them all again."""
    return b'{"version":%d,"cases":[' % ARCHIVE_VERSION + b",".join(cases) + b"]}"


def encode_archive(cases: Sequence[Folded]) -> bytes:
    return archive_value([encode_case(f) for f in cases])


def decode_archive(value: bytes) -> list[Folded]:
    body = json.loads(value)
    version = body.get("version")
    if version == ARCHIVE_VERSION:
        return list(map(_case_from, body["cases"]))
    if version == 1:
        return [_folded_from(case) for case in body["cases"]]
    raise ValueError(f"archive format {version!r} is not one this release reads")


LATE_DUPLICATES = b"#late-duplicates"
"""One record per partition, keyed `#late-duplicates/P`: where repeats of retired cases'
events came from (their count, and what the judge has applied, must survive a restore
like everything else). The partition is in the key because `refmon report` reads every
partition into one table; releases before wrote `#late-duplicates` alone, still read."""


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
    """Every retired case, once, from the archive records or a record of its own."""
    late: tuple[Source, ...] = ()
    archive: tuple[tuple[int, tuple[Folded, ...]], ...] = ()
    """The archive records (number, cases), in number order."""
    single: tuple[tuple[bytes, Folded | None], ...] = ()
    """Records of one retired case each (key, and the case when no archive holds it): an
    earlier release's, to move into the archive and delete."""


def held(records: Mapping[bytes, bytes | None]) -> Held:
    """What a changelog's latest values hold (deletions dropped).

    A case folded while its deliveries' deletions were still being written has
    both: the folded record wins, so nothing counts twice; so does a case both
    archived and in a record of its own (an archiving interrupted by a crash).
    """
    found: list[Delivery] = []
    archive: list[tuple[int, tuple[Folded, ...]]] = []
    single: list[tuple[bytes, Folded]] = []
    late: list[Source] = []
    for key, value in records.items():
        if value is None:
            continue
        if is_late_key(key):
            late += decode_late(value)
        elif key.startswith(ARCHIVE_PREFIX):
            archive.append((archive_number(key), tuple(decode_archive(value))))
        elif key.endswith(RETIRED_SUFFIX):
            single.append((key, decode_folded(value)))
        else:
            found.append(decode_delivery(value))
    archive.sort(key=lambda chunk: chunk[0])
    folded = {_case(f): f for _, chunk in archive for f in chunk}
    singles = tuple((key, None if _case(f) in folded else f) for key, f in single)
    for _, f in single:
        folded.setdefault(_case(f), f)
    if folded:
        found = [d for d in found if (d.event.force, d.event.case_id) not in folded]
    # A source is applied once, so one in two records (an earlier release's key and
    # today's) is the same repeat.
    return Held(found, list(folded.values()), tuple(dict.fromkeys(late)), tuple(archive), singles)


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
    for folded in stored.folded:
        engine.absorb(folded.retired, folded.ids, folded.valid, folded.duplicate)
        for name, partition, offset in folded.sources:
            if offset > highest.get((name, partition), -1):
                highest[(name, partition)] = offset
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
