"""Run `refmon` with some records the consumer hands over dropped once, as Faust's streams did.

    python -m tests.kafka.dropping worker --test-drop TOPIC:PARTITION:FIRST-LAST ...

The worker must notice the gap and fetch and judge those records anyway. The
fault is injected here, in the test, at the loop's one hand-over point
(`ConsumerLoop.handed_over`); the product has no such flag.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class DropPlan:
    """Records the consumer hands over once and the worker must not see."""

    topic: str
    partition: int
    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> DropPlan:
        topic, partition, span = text.rsplit(":", 2)
        first, last = span.split("-")
        return cls(topic, int(partition), int(first), int(last))

    def apply(self, tp: Any, records: list[Any]) -> list[Any]:
        if tp.topic != self.topic or tp.partition != self.partition:
            return records
        kept = [r for r in records if not self.first <= r.offset <= self.last]
        if len(kept) != len(records):
            self.first = self.last = -1  # once only: a re-read gets them all
        return kept


def drop_once(plan: DropPlan) -> None:
    from refmon.streams.worker.loop import ConsumerLoop

    def handed_over(self: Any, tp: Any, records: list[Any]) -> list[Any]:
        return plan.apply(tp, records)

    ConsumerLoop.handed_over = handed_over  # type: ignore[method-assign]


if __name__ == "__main__":
    args = sys.argv[1:]
    at = args.index("--test-drop")
    drop_once(DropPlan.parse(args[at + 1]))
    del args[at : at + 2]
    from refmon.cli import main

    sys.exit(main(args))
