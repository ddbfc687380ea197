"""A partition with lag whose position does not move is stalled: find it, then unstick it.

After a broker restart, a worker's consumer once sat on an assigned partition
with thousands of messages behind it and said nothing (issue 14). The worker
now checks every few seconds: a partition whose end is ahead of its position,
with the position unchanged for `after_s`, is stalled. It is logged as an
error, exposed as a metric, and resumed at its position; if it is still stuck
`after_s` later, the worker starts a new consumer, which rejoins the group and
fetches from the committed offsets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Partition = TypeVar("Partition")


@dataclass
class _Progress:
    position: int
    since: float
    stalled_at: float | None = None


@dataclass
class StallWatch(Generic[Partition]):
    after_s: float
    clock: Callable[[], float] = time.monotonic
    restart_needed: bool = False
    _progress: dict[Partition, _Progress] = field(default_factory=dict)
    _to_resume: list[Partition] = field(default_factory=list)

    def check(
        self,
        ends: Mapping[Partition, int],
        positions: Mapping[Partition, int],
        waiting: Set[Partition],
    ) -> dict[Partition, int]:
        """Each partition's lag; notes which stalled. `waiting` ones (restoring) are exempt."""
        now = self.clock()
        lags: dict[Partition, int] = {}
        for partition, end in ends.items():
            position = positions.get(partition)
            if position is None:
                continue
            lags[partition] = lag = max(0, end - position)
            if partition in waiting or lag == 0:
                self._progress.pop(partition, None)
                continue
            seen = self._progress.get(partition)
            if seen is None or seen.position != position:
                self._progress[partition] = _Progress(position, now)
                continue
            if seen.stalled_at is None and now - seen.since >= self.after_s:
                seen.stalled_at = now
                self._to_resume.append(partition)
            elif seen.stalled_at is not None and now - seen.stalled_at >= self.after_s:
                self.restart_needed = True
        return lags

    def progressed(self, partition: Partition, position: int) -> None:
        seen = self._progress.get(partition)
        if seen is not None and seen.position != position:
            self._progress[partition] = _Progress(position, self.clock())

    def to_resume(self) -> list[Partition]:
        """Partitions that stalled since the last call: resume them once."""
        found, self._to_resume = self._to_resume, []
        return found

    def position(self, partition: Partition) -> int | None:
        seen = self._progress.get(partition)
        return None if seen is None else seen.position

    def stalled(self) -> set[Partition]:
        return {p for p, s in self._progress.items() if s.stalled_at is not None}

    def forget(self, partition: Partition) -> None:
        self._progress.pop(partition, None)

    def restarted(self) -> None:
        self.restart_needed = False
        self._progress.clear()
        self._to_resume.clear()
