"""Noticing records that never reached the worker, so they can be fetched and judged.

Within one assignment the consumer hands each partition's records over in
offset order, from the committed offset on. A jump forward means records were
skipped (Faust's streams did this around rebalances; a plain consumer should
not, and this is how we would know): the worker fetches exactly those offsets
itself and judges them before anything after them.
"""

from __future__ import annotations

from typing import Generic, TypeVar

Partition = TypeVar("Partition")


class GapTracker(Generic[Partition]):
    def __init__(self) -> None:
        self._next: dict[Partition, int | None] = {}

    def reset(self, partition: Partition, committed: int | None) -> None:
        """After an assignment each partition restarts from its committed offset."""
        self._next[partition] = committed

    def missing(self, partition: Partition, first: int) -> tuple[int, int] | None:
        """The offsets skipped before `first` (first, last), if any."""
        want = self._next.get(partition)
        if want is None or first <= want:
            return None  # no start known, the next in line, or a re-read after a seek
        return want, first - 1

    def seen(self, partition: Partition, last: int) -> None:
        self._next[partition] = last + 1

    def next(self, partition: Partition) -> int | None:
        """The next offset due: where processing has got to."""
        return self._next.get(partition)
