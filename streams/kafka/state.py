"""The case changelog: what the workers keep on Kafka, and how an engine is rebuilt from it.

One record per delivery, keyed `FORCE/case_id@source`, in the compact encoding
(`refmon.streams.wire.delivery`): appending an event is one small write, and a record
written twice (a crash between a write and its commit) is the same record.
The topic is compacted and read as its latest value per key.

Releases before 0.2 (the Faust worker) kept one entry per case holding every
raw event and the sources it came from. Such entries are still read: each
becomes its deliveries, validated once on the way (`migrate_entry`), and the
worker rewrites them in the compact encoding when it restores the partition.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import NamedTuple

from refmon.schemas.events import EventAdapter
from refmon.streams.engine import Engine, Finding
from refmon.streams.engine.retirement import Retired
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Delivery, Source, decode_delivery
from refmon.streams.wire.translate import to_engine_event

log = logging.getLogger("refmon.changelog")


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


def encode_folded(folded: Folded) -> bytes:
    retired = folded.retired
    return json.dumps(
        {
            "version": 1,
            "force": retired.force,
            "case_id": retired.case_id,
            "own_duty_at": retired.own_duty_at,
            "findings": [list(f) for f in retired.findings],
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
    if body.get("version") != 1:
        raise ValueError(
            f"retired-case format {body.get('version')!r} is not one this release reads"
        )
    findings = tuple(Finding._make([*f[:5], tuple(f[5]), *f[6:]]) for f in body["findings"])
    retired = Retired(body["force"], body["case_id"], body["own_duty_at"], findings)
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


def is_legacy_key(key: bytes) -> bool:
    """An earlier release's case entry: its key is the JSON string `"FORCE/case_id"`."""
    return key[:1] == b'"'


def _legacy_source(where: str, topics: Topics) -> Source:
    """0.1's `topic:partition:offset` as a source."""
    topic, partition, offset = where.rsplit(":", 2)
    return Source(topics.source_of(topic) or topic, int(partition), int(offset))


def migrate_forward(value: bytes, adapter: EventAdapter, topics: Topics) -> Delivery:
    """A by-force message 0.1 forwarded (`{"source", "event"}`), as a delivery."""
    body = json.loads(value)
    event = to_engine_event(adapter.validate_json(body["event"]))
    return Delivery(_legacy_source(str(body["source"]), topics), event)


def migrate_entry(value: bytes, adapter: EventAdapter, topics: Topics) -> list[Delivery]:
    """An earlier release's case entry as deliveries: one per distinct source of each event.

    An event 0.1 accepted that the contract's stricter checks now refuse (an
    infinite sentence, `schema_version` 1.0, over 100 linked cases) is left out
    and logged by where it came from: judged today, it would be a dead letter.
    """
    entry = json.loads(value)
    deliveries: list[Delivery] = []
    for event_id, sources in entry["sources"].items():
        raw = entry["events"].get(event_id)
        if raw is None:
            continue  # an id stored under another case: its sources only counted duplicates
        try:
            event = to_engine_event(adapter.validate_json(raw))
        except ValueError as err:
            log.error(
                "an event 0.1 stored from %s breaks today's contract and is left out: %s",
                ", ".join(sources),
                type(err).__name__,
            )
            continue
        deliveries += [Delivery(_legacy_source(where, topics), event) for where in sources]
    return deliveries


def held(records: Mapping[bytes, bytes | None], adapter: EventAdapter, topics: Topics) -> Held:
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
        elif is_legacy_key(key):
            found.extend(migrate_entry(value, adapter, topics))
        else:
            found.append(decode_delivery(value))
    gone = {(f.retired.force, f.retired.case_id) for f in folded}
    if gone:
        found = [d for d in found if (d.event.force, d.event.case_id) not in gone]
    return Held(found, folded, late)


def replay_order(delivery: Delivery) -> tuple[int, str, str, int, int]:
    """Event-time order, ties settled by id and source: any arrival order gives one replay."""
    source, event = delivery
    return (event.occurred_at_us, event.event_id, source.name, source.partition, source.offset)


def rebuild(engine: Engine, stored: Held) -> None:
    """Apply a changelog's contents to a fresh engine; repeats count as duplicates."""
    for folded in stored.folded:
        engine.absorb(folded.retired, folded.ids, folded.valid, folded.duplicate)
    engine.duplicate += len(stored.late)
    for delivery in sorted(stored.deliveries, key=replay_order):
        engine.apply(delivery.event)
