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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from refmon.streams.engine import Engine, Finding
from refmon.streams.engine.case import CaseState, DecisionRecord
from refmon.streams.engine.retired_store import Archived
from refmon.streams.engine.retirement import Retired
from refmon.streams.engine.vocabulary import FindingKind
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


ARCHIVE_VERSION = 3
"""Format 3 is a summary line, then the cases as format 2 holds them: a restore reads
only the summaries (every retired case's id, its events' ids, its share of the counts)
and leaves the cases themselves for when the engine first needs one
(streams/engine/retired_store.py). Format 2 holds each case as a list
(`_case_fields`); format 1 as an object (`_folded_body`). Both are still read."""


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


def _retired_from(fields: list[Any]) -> Retired:
    force, case_id, own, findings, review, decisions, first = fields[:7]
    return Retired(
        force,
        case_id,
        own,
        tuple(map(_finding, findings)),
        _review(review),
        tuple(map(DecisionRecord._make, decisions)) if decisions else (),
        first,
    )


def _case_from(fields: list[Any]) -> Folded:
    ids, sources, valid, dup = fields[7:]
    pairs, triples = iter(ids), iter(sources)
    return Folded(
        _retired_from(fields),
        tuple(zip(pairs, pairs, strict=True)),
        tuple(zip(triples, triples, triples, strict=True)),
        valid,
        dup,
    )


def encode_case(folded: Folded) -> bytes:
    """One case as an archive record holds it (`ArchiveHead.value` joins them)."""
    return _dumps(_case_fields(folded))


class ArchiveHead:
    """An archive record's summary line: what a restore reads of its cases at once.

    Ids are kept joined by newlines (neither a case id nor an event id may hold one,
    schemas/types.py): a restore splits a few long strings rather than parse a
    hundred thousand short ones.
    """

    __slots__ = ("duplicate", "first_at", "forces", "ids", "open", "sources", "valid")

    def __init__(self) -> None:
        self.forces: dict[str, list[str]] = {}
        self.ids: dict[str, list[str]] = {}
        self.open: dict[tuple[str, FindingKind], int] = {}
        self.valid = 0
        self.duplicate = 0
        self.first_at: int | None = None
        self.sources: dict[tuple[str, int], int] = {}

    def add(self, folded: Folded) -> None:
        retired = folded.retired
        self.forces.setdefault(retired.force, []).append(retired.case_id)
        for scope, event_id in folded.ids:
            self.ids.setdefault(scope, []).append(event_id)
        for finding in retired.findings:
            if finding.status == "open":
                key = (finding.force, finding.kind)
                self.open[key] = self.open.get(key, 0) + 1
        self.valid += folded.valid
        self.duplicate += folded.duplicate
        first = retired.first_at
        if first is not None and (self.first_at is None or first < self.first_at):
            self.first_at = first
        for name, partition, offset in folded.sources:
            if offset > self.sources.get((name, partition), -1):
                self.sources[(name, partition)] = offset

    def value(self, cases: Sequence[bytes]) -> bytes:
        """The record: this summary, a newline, and the cases (each encoded once, by
        `encode_case`: a record rewritten as cases join it costs a join)."""
        head = {
            "version": ARCHIVE_VERSION,
            "forces": {force: "\n".join(ids) for force, ids in self.forces.items()},
            "ids": {scope: "\n".join(ids) for scope, ids in self.ids.items()},
            "open": [[force, kind, n] for (force, kind), n in self.open.items()],
            "valid": self.valid,
            "duplicate": self.duplicate,
            "first_at": self.first_at,
            "sources": [[name, p, offset] for (name, p), offset in self.sources.items()],
        }
        return _dumps(head) + b"\n[" + b",".join(cases) + b"]"

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> ArchiveHead:
        head = cls()
        head.forces = {force: ids.split("\n") for force, ids in body["forces"].items()}
        head.ids = {scope: ids.split("\n") for scope, ids in body["ids"].items()}
        head.open = {(force, kind): n for force, kind, n in body["open"]}
        head.valid, head.duplicate = int(body["valid"]), int(body["duplicate"])
        head.first_at = body["first_at"]
        head.sources = {(name, p): offset for name, p, offset in body["sources"]}
        return head

    def case_count(self) -> int:
        return sum(map(len, self.forces.values()))


class ArchiveRecord:
    """One archive record as read: its summary, and its cases, parsed only when asked for
    (format 3; earlier formats are parsed at once, and summed up here)."""

    __slots__ = ("_cases", "_folded", "head", "number")

    def __init__(self, number: int, value: bytes) -> None:
        self.number = number
        line, newline, rest = value.partition(b"\n")
        self._cases: bytes | None = None
        self._folded: list[Folded] | None = None
        if newline:
            body = json.loads(line)
            if body.get("version") != ARCHIVE_VERSION:
                raise ValueError(
                    f"archive format {body.get('version')!r} is not one this release reads"
                )
            self.head = ArchiveHead.read(body)
            self._cases = rest
        else:
            self._folded = _decode_earlier(value)
            self.head = ArchiveHead()
            for folded in self._folded:
                self.head.add(folded)

    @property
    def lazy(self) -> bool:
        """Whether its cases are still unread: restored from the summary alone."""
        return self._folded is None

    def folded(self) -> list[Folded]:
        """Every case, whole."""
        if self._folded is None:
            return list(map(_case_from, json.loads(self._cases or b"[]")))
        return self._folded

    def retired(self) -> list[Retired]:
        """Every case, without what the summary holds already (ids, sources, counts)."""
        if self._folded is None:
            return list(map(_retired_from, json.loads(self._cases or b"[]")))
        return [f.retired for f in self._folded]

    def encoded(self) -> list[bytes]:
        """Every case as `encode_case` writes it (a writer goes on filling the record)."""
        if self._folded is None:
            return [_dumps(fields) for fields in json.loads(self._cases or b"[]")]
        return [encode_case(f) for f in self._folded]

    def archived(self) -> Archived:
        """The engine's view: the summary, and the decoder of the cases."""
        head = self.head
        return Archived(
            head.forces,
            head.ids,
            [(force, kind, n) for (force, kind), n in head.open.items()],
            head.valid,
            head.duplicate,
            head.first_at,
            self.retired,
        )


def encode_archive(cases: Sequence[Folded]) -> bytes:
    head = ArchiveHead()
    for folded in cases:
        head.add(folded)
    return head.value([encode_case(f) for f in cases])


def decode_archive(value: bytes) -> list[Folded]:
    return ArchiveRecord(0, value).folded()


def _decode_earlier(value: bytes) -> list[Folded]:
    body = json.loads(value)
    version = body.get("version")
    if version == 2:
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
    """The retired cases read whole at once: records of one case each, and archive
    records of an earlier format (each case once)."""
    late: tuple[Source, ...] = ()
    archive: tuple[ArchiveRecord, ...] = ()
    """The archive records, in number order; the lazy ones' cases are in no other field."""
    single: tuple[tuple[bytes, Folded | None], ...] = ()
    """Records of one retired case each (key, and the case when no archive holds it): an
    earlier release's, to move into the archive and delete."""

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
    for key, value in records.items():
        if value is None:
            continue
        if is_late_key(key):
            late += decode_late(value)
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
        archive = [_read_whole(r) for r in archive]
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
    return Held(found, list(folded.values()), tuple(dict.fromkeys(late)), tuple(archive), singles)


def _read_whole(record: ArchiveRecord) -> ArchiveRecord:
    """The record with its cases read at once (as an earlier format's are)."""
    if record.lazy:
        record._folded = record.folded()
    return record


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


def _highest(
    highest: dict[tuple[str, int], int], offsets: Iterable[tuple[tuple[str, int], int]]
) -> None:
    for where, offset in offsets:
        if offset > highest.get(where, -1):
            highest[where] = offset
