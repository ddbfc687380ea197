"""The compact, versioned encoding of already-validated engine events.

The Kafka path validates each event against the contract once, at intake. What
it then puts on the by-force topic and in the case changelog is this: the engine
event itself as a JSON array, read back without pydantic, so that forwarding,
storing and rebuilding never validate again. The first element is the format
version; a reader refuses a version it does not know rather than guess.

A delivery is an event with where it came from: its input topic's source (a
force code or the watchdog), partition and offset. The offset tells a delivery
repeated after a crash (same source) from a real duplicate (another source).
Format 2 adds when the input message was received (its broker time), which caps
how far the event moves the clock (docs/contract.md section 13); a delivery without
it is still written, and read, as format 1.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import orjson
from refmon.streams.engine import (
    Allegation,
    CaseFacts,
    Closed,
    Decision,
    Event,
    Payload,
    Received,
    Referred,
)
from refmon.streams.engine.model import OutlierStep
from refmon.streams.engine.vocabulary import OUTLIER_EVENT_TYPES

VERSION = 1
VERSION_RECEIVED = 2
READABLE = (VERSION, VERSION_RECEIVED)


class CodecError(ValueError):
    """Bytes that are not a delivery this release can read."""


class Source(NamedTuple):
    """Where an event entered refmon: `name` is a force code or `watchdog`."""

    name: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.name}:{self.partition}:{self.offset}"


class Delivery(NamedTuple):
    source: Source
    event: Event
    received_at_us: int | None = None
    """When the input message was received (its broker time); None in format 1."""


def _payload_fields(payload: Payload) -> list[Any]:
    if isinstance(payload, CaseFacts):
        return [
            payload.case_kind,
            payload.harm,
            [list(a) for a in payload.allegations],
            payload.subject_is_chief_officer,
            list(payload.linked_case_ids),
            payload.assessed_mandatory,
            list(payload.assessed_criteria),
        ]
    if isinstance(payload, Referred):
        return [payload.referral_kind, list(payload.criteria)]
    if isinstance(payload, Decision):
        return [payload.decision]
    if isinstance(payload, OutlierStep):
        return [payload.detail]
    return []


def _payload(event_type: str, fields: list[Any]) -> Payload:
    if event_type in ("case.recorded", "case.updated"):
        kind, harm, allegations, chief, linked, assessed, criteria = fields
        return CaseFacts(
            kind,
            harm,
            tuple(Allegation(*a) for a in allegations),
            chief,
            tuple(linked),
            assessed,
            tuple(criteria),
        )
    if event_type == "case.referred":
        return Referred(fields[0], tuple(fields[1]))
    if event_type == "referral.decision":
        return Decision(fields[0])
    if event_type == "referral.received":
        return Received()
    if event_type == "case.closed":
        return Closed()
    if event_type in OUTLIER_EVENT_TYPES:
        return OutlierStep(fields[0])
    raise CodecError(f"unknown event type {event_type!r}")


def encode_delivery(delivery: Delivery) -> bytes:
    source, e, received = delivery
    return json.dumps(
        [
            VERSION if received is None else VERSION_RECEIVED,
            source.name,
            source.partition,
            source.offset,
            e.event_id,
            e.event_type,
            e.force,
            e.case_id,
            e.occurred_at_us,
            _payload_fields(e.payload),
            *(() if received is None else (received,)),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def decode_delivery(data: bytes) -> Delivery:
    try:
        # orjson: a restore decodes every live delivery, and json took 3x as long.
        fields = orjson.loads(data)
        version = fields[0]
    except (ValueError, TypeError, IndexError, KeyError) as err:
        raise CodecError(f"not a refmon delivery: {err}") from None
    if version not in READABLE:
        raise CodecError(f"delivery format version {version!r} is not one this release reads")
    try:
        received = fields.pop() if version == VERSION_RECEIVED else None
        _, name, partition, offset, event_id, event_type, force, case_id, at, payload = fields
        if received is not None and type(received) is not int:
            raise TypeError("received time is not an integer")
        event = Event(event_id, event_type, force, case_id, at, _payload(event_type, payload))
    except (ValueError, TypeError) as err:
        raise CodecError(f"malformed delivery: {err}") from None
    return Delivery(Source(name, partition, offset), event, received)
