"""What a by-force partition's judge has applied, beside its engine.

Per input source partition, the highest offset applied (a message forwarded or
delivered again after a crash changes nothing); per live case, what is kept of
its deliveries until it retires (to fold them then); the repeats of retired
cases' events; and per input source, the latest event time it has sent (the
watermark retirement measures age against).
"""

from __future__ import annotations

from refmon.streams.engine.engine import source_scope
from refmon.streams.wire.delivery import Delivery, Source

Kept = tuple[str, str, str, int, int]
"""What is kept of a live delivery until its case retires: the event's scope and id, and
its source's name, partition and offset. Plain tuples of five: a national year holds
hundreds of thousands, and a snapshot (snapshot.py) writes them all."""


class Applied:
    def __init__(self, sources: frozenset[str]) -> None:
        self.sources = sources
        """Every input source that sends this partition events: its forces and the watchdog."""
        self.offsets: dict[tuple[str, int], int] = {}
        self.cases: dict[tuple[str, str], list[Kept]] = {}
        self.late: list[Source] = []
        self.times: dict[str, int] = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Applied):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]

    def has(self, source: Source) -> bool:
        return source.offset <= self.offsets.get((source.name, source.partition), -1)

    def note(self, source: Source) -> None:
        key = (source.name, source.partition)
        if source.offset > self.offsets.get(key, -1):
            self.offsets[key] = source.offset

    def keep(self, delivery: Delivery) -> None:
        event, (name, partition, offset) = delivery.event, delivery.source
        kept = (source_scope(event), event.event_id, name, partition, offset)
        self.cases.setdefault((event.force, event.case_id), []).append(kept)
        if event.occurred_at_us > self.times.get(name, event.occurred_at_us - 1):
            self.times[name] = event.occurred_at_us

    def is_live(self, force: str, case_id: str) -> bool:
        return (force, case_id) in self.cases

    def fold(self, force: str, case_id: str) -> tuple[tuple[tuple[str, str], ...], list[Source]]:
        """A retiring case's event ids (scope, id; each once) and its deliveries' sources,
        no longer kept."""
        kept = self.cases.pop((force, case_id), [])
        ids = tuple(dict.fromkeys((scope, event_id) for scope, event_id, *_ in kept))
        return ids, [Source(name, p, offset) for _, _, name, p, offset in kept]

    def extend_late(self, late: list[Source]) -> list[Source]:
        """The repeats of retired cases' events as the changelog holds them now; those new
        here. The record only ever grows: what is new is its end."""
        if late[: len(self.late)] != self.late:
            raise ValueError("the changelog's late repeats do not continue the snapshot's")
        added = late[len(self.late) :]
        self.late = list(late)
        return added

    def watermark(self) -> int | None:
        """The latest event time every source of this partition has reached.

        Retirement measures age against this, not the engine's clock: in a replay
        or a backfill one force's events can be judged years ahead of another's,
        and a case of the force behind is not old merely because the clock is far on.
        A source silent for long (or never heard from) holds retirement back on its
        partition.
        """
        if not self.sources or not self.sources <= self.times.keys():
            return None
        return min(self.times[s] for s in self.sources)
