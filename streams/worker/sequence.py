"""Noticing by-force messages that never reached the judge.

Faust's stream drops a message, and acks it, when it arrives while flow control
is suspended or from an older consumer generation (`Stream._py_aiter`, around
rebalances and recovery). Within one assignment the judge sees each
partition's offsets in order, so a jump forward is such a drop: the worker logs
the offsets so that operators can replay them. Seeking back from the agent
does not help: Faust's fetch loop discards the re-read messages as already read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OffsetSequence:
    _next: dict[int, int] = field(default_factory=dict)

    def reset(self) -> None:
        """After an assignment each partition restarts from its committed offset."""
        self._next.clear()

    def gap(self, partition: int, offset: int) -> tuple[int, int] | None:
        """The offsets skipped before this one (first, last), if any; then records it."""
        want = self._next.get(partition)
        self._next[partition] = offset + 1
        if want is None or offset <= want:
            return None  # the first since the assignment, the next in line, or a re-read
        return want, offset - 1
