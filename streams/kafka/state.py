"""The case changelog: what the workers keep on Kafka, and how an engine is rebuilt from it.

One record per delivery, keyed `FORCE/case_id@source`, in the compact encoding
(`refmon.streams.wire.delivery`): appending an event is one small write, and a record
written twice (a crash between a write and its commit) is the same record.
The topic is compacted and read as its latest value per key.

Releases before 0.2 kept one entry per case in another shape: the worker's
upgrade (streams/worker/upgrade.py) turns those into these records before
anything here reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
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
    sources: tuple[Source, ...]
    """Where each of its deliveries came from: what a judge has applied stays known."""
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


def encode_folded(folded: Folded) -> bytes:
    retired = folded.retired
    return json.dumps(
        {
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
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def decode_folded(value: bytes) -> Folded:
    body = json.loads(value)
    if body.get("version") not in (1, 2):
        raise ValueError(
            f"retired-case format {body.get('version')!r} is not one this release reads"
        )
    findings = tuple(Finding._make([*f[:5], tuple(f[5]), *f[6:]]) for f in body["findings"])
    retired = Retired(
        body["force"],
        body["case_id"],
        body["own_duty_at"],
        findings,
        _review(body.get("review")),
        tuple(DecisionRecord(*d) for d in body.get("decisions", ())),
        body.get("first_at"),
    )
    return Folded(
        retired,
        tuple((scope, event_id) for scope, event_id in body["ids"]),
        tuple(Source(*s) for s in body["sources"]),
        int(body["valid"]),
        int(body["duplicate"]),
    )


LATE_DUPLICATES = b"#late-duplicates"
"""One record per partition: where repeats of retired cases' events came from (their
count, and what the judge has applied, must survive a restore like everything else)."""


def encode_late(sources: list[Source]) -> bytes:
    return json.dumps({"version": 1, "sources": [list(s) for s in sources]}).encode()


def decode_late(value: bytes) -> list[Source]:
    return [Source(*s) for s in json.loads(value)["sources"]]


class Held(NamedTuple):
    """What a changelog holds: live deliveries, retired cases folded, and repeats of
    retired cases' events."""

    deliveries: list[Delivery]
    folded: list[Folded]
    late: tuple[Source, ...] = ()


def held(records: Mapping[bytes, bytes | None]) -> Held:
    """What a changelog's latest values hold (deletions dropped).

    A case folded while its deliveries' deletions were still being written has
    both: the folded record wins, so nothing counts twice.
    """
    found: list[Delivery] = []
    folded: list[Folded] = []
    late: tuple[Source, ...] = ()
    for key, value in records.items():
        if value is None:
            continue
        if key == LATE_DUPLICATES:
            late = tuple(decode_late(value))
        elif key.endswith(RETIRED_SUFFIX):
            folded.append(decode_folded(value))
        else:
            found.append(decode_delivery(value))
    gone = {(f.retired.force, f.retired.case_id) for f in folded}
    if gone:
        found = [d for d in found if (d.event.force, d.event.case_id) not in gone]
    return Held(found, folded, late)


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

    `note` hears every source applied before (folded and late ones), `keep` every live
    delivery just before it is applied; with `chunk`, yields every `chunk` deliveries, so a
    worker can let its event loop run.
    """
    for folded in stored.folded:
        engine.absorb(folded.retired, folded.ids, folded.valid, folded.duplicate)
        for source in folded.sources:
            note(source)
    engine.duplicate += len(stored.late)
    for source in stored.late:
        note(source)
    for n, delivery in enumerate(sorted(stored.deliveries, key=replay_order), 1):
        keep(delivery)
        engine.apply(delivery.event, delivery.received_at_us)
        if chunk and n % chunk == 0:
            yield n
