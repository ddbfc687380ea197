"""Archive records: retired cases many to a record, each led by a summary a restore reads
instead of the cases (streams/engine/retired_store.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from refmon.streams.engine.case import DecisionRecord
from refmon.streams.engine.retired_store import Archived
from refmon.streams.engine.retirement import Retired
from refmon.streams.engine.vocabulary import FindingKind
from refmon.streams.kafka.folded import (
    Folded,
    dumps,
    finding_from,
    folded_from,
    review_fields,
    review_from,
)

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
(`_case_fields`); format 1 as an object (`folded_body`). Both are still read."""


def _case_fields(folded: Folded) -> list[Any]:
    retired = folded.retired
    return [
        retired.force,
        retired.case_id,
        retired.own_duty_at,
        [list(f) for f in retired.findings],
        review_fields(retired.review),
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
        tuple(map(finding_from, findings)),
        review_from(review),
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
    return dumps(_case_fields(folded))


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
        return dumps(head) + b"\n[" + b",".join(cases) + b"]"

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

    def read_whole(self) -> None:
        """Parse its cases now, as an earlier format's are (it is then no longer lazy)."""
        if self._folded is None:
            self._folded = self.folded()

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
            return [dumps(fields) for fields in json.loads(self._cases or b"[]")]
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
        return [folded_from(case) for case in body["cases"]]
    raise ValueError(f"archive format {version!r} is not one this release reads")
