"""The intake stage: validate each input message once, check its source and time, and
forward the compact engine event by force. Client-free, so it is tested without a broker.

At-least-once delivery is assumed: a message taken twice forwards the same
delivery twice, and the judge applies it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from refmon.schemas.events import EventAdapter
from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Event
from refmon.streams.kafka.topics import WATCHDOG, Topics, expected_source
from refmon.streams.time_range import out_of_range
from refmon.streams.wire.dead_letters import DeadLetter
from refmon.streams.wire.decode import decode
from refmon.streams.wire.delivery import Delivery, Source, encode_delivery
from refmon.streams.wire.translate import to_engine_event
from refmon.streams.worker.messages import Counts, Outbound, dead_letter


def fingerprint(event: Event) -> str:
    """Stable across processes (unlike hash()): the watchdog's index outlives a worker."""
    body = encode_delivery(Delivery(Source("", 0, 0), event))
    return hashlib.blake2b(body, digest_size=8).hexdigest()


class WatchdogIds:
    """The watchdog's event ids, across every force (docs/contract.md section 7).

    The watchdog's ids are one namespace, but its events go to each force's
    partition: only intake, which reads the watchdog's one topic partition in
    order, sees them all. It keeps each id's content fingerprint and first
    offset in a compacted topic, so a conflicting reuse is caught whoever
    holds the forces, and the first arrival wins as it does in `refmon run`.
    """

    def __init__(self, topic: str) -> None:
        self._topic = topic
        # id -> (fingerprint, first offset); as stored (JSON) until the id comes again: a
        # restore holds every id the watchdog ever used, and decoding each cost time.
        self._ids: dict[bytes, tuple[str, int] | bytes] = {}

    def load(self, records: Iterable[tuple[bytes, bytes | None]]) -> None:
        self._ids.update((key, value) for key, value in records if value is not None)

    def check(self, event: Event, offset: int) -> Rejection | Outbound | None:
        """A conflict, the index write for a new id, or None for a repeat of a known one."""
        digest = fingerprint(event)
        key = event.event_id.encode()
        known = self._ids.get(key)
        if known is None:
            self._ids[key] = (digest, offset)
            value = json.dumps([digest, offset]).encode()
            return Outbound(self._topic, key, value)
        if isinstance(known, bytes):
            stored, first = json.loads(known)
            known = self._ids[key] = (str(stored), int(first))
        if known[0] != digest and known[1] != offset:
            return Rejection(
                "conflicting_duplicate",
                "event_id: already used by the watchdog for an event with other content",
            )
        return None


class Intake:
    """Validate once, check source and time, and forward the compact event by force."""

    def __init__(
        self, adapter: EventAdapter, topics: Topics, watchdog: WatchdogIds, counts: Counts
    ) -> None:
        self._adapter = adapter
        self._topics = topics
        self._watchdog = watchdog
        self._counts = counts

    def take(
        self, topic: str, partition: int, offset: int, received_ms: int, raw: bytes
    ) -> list[Outbound]:
        """What to send for one input message: a forward (and index write), or a dead letter.

        `received_ms` is the message's broker timestamp: the same on every
        redelivery, so the future-timestamp rule decides the same way each time.
        """
        try:
            verdict = self._verdict(topic, partition, offset, received_ms, raw)
        except Exception as err:  # one message must never stall its partition
            verdict = Rejection("internal_error", f"intake failed: {type(err).__name__}")
        if isinstance(verdict, Rejection):
            self._counts.rejected[verdict.code] += 1
            letter = DeadLetter.of_message(topic, partition, offset, verdict, raw)
            return [dead_letter(self._topics, letter)]
        return verdict

    def _verdict(
        self, topic: str, partition: int, offset: int, received_ms: int, raw: bytes
    ) -> Rejection | list[Outbound]:
        decoded = decode(self._adapter, raw)
        if isinstance(decoded, Rejection):
            return decoded
        owner = self._topics.source_of(topic)
        due = expected_source(decoded.event_type, decoded.force)
        if owner != due:
            return Rejection(
                "force_mismatch",
                f"{decoded.event_type} for force {decoded.force} arrived on {topic}; "
                f"it belongs on {self._topics.input(due)}"
                + ("" if due == WATCHDOG else " (a force writes only its own topic)"),
            )
        event = to_engine_event(decoded)
        late = out_of_range("occurred_at", event.occurred_at_us, received_ms * 1000)
        if late is not None:
            return late
        sends: list[Outbound] = []
        if owner == WATCHDOG:
            seen = self._watchdog.check(event, offset)
            if isinstance(seen, Rejection):
                return seen
            if seen is not None:
                sends.append(seen)
        where = Source(owner, partition, offset)
        body = encode_delivery(Delivery(where, event, received_ms * 1000))
        sends.append(Outbound(self._topics.by_force, event.force.encode(), body))
        return sends
