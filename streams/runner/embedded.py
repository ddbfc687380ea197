"""The embedded run loop: lines in, engine applied, dead letters out. No Kafka, no threads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from refmon.schemas.events import EventAdapter
from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Engine
from refmon.streams.judging import judge
from refmon.streams.runner.lines import Line
from refmon.streams.wire.dead_letters import DeadLetter
from refmon.streams.wire.decode import decode
from refmon.streams.wire.translate import to_engine_event

BATCH_LINES = 2048


@dataclass(slots=True)
class RunStats:
    lines: int = 0
    bytes: int = 0
    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Distinct valid events applied, by (force, event_type)."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Rejected lines by reason code."""
    finding_changes: int = 0

    @property
    def invalid(self) -> int:
        return sum(self.rejected.values())


def run_lines(
    lines: Iterable[Line],
    engine: Engine,
    adapter: EventAdapter,
    dead_letter: Callable[[DeadLetter], None],
    on_batch: Callable[[RunStats], None] | None = None,
    *,
    received_at_us: int,
) -> RunStats:
    """Apply every line; a bad line becomes a dead letter and the run goes on.

    `received_at_us` is when the input was received: the run's start, one instant
    for every line, so that the run's results do not depend on how fast it reads.
    It bounds each event's time and caps the clock (docs/contract.md section 13); a
    replay of past data is unaffected, its events all being older.
    """
    stats = RunStats()
    for line in lines:
        stats.lines += 1
        stats.bytes += line.size + 1
        if line.data is None:
            rejection = Rejection("too_long", f"line is {line.size} bytes, over the limit")
            _reject(stats, dead_letter, line, rejection)
        else:
            decoded = decode(adapter, line.data)
            if isinstance(decoded, Rejection):
                _reject(stats, dead_letter, line, decoded)
            else:
                applied = judge(engine, to_engine_event(decoded), received_at_us)
                if isinstance(applied, Rejection):
                    _reject(stats, dead_letter, line, applied)
                elif not applied.duplicate:
                    stats.events[(decoded.force, decoded.event_type)] += 1
                    stats.finding_changes += len(applied.changes)
        if on_batch is not None and stats.lines % BATCH_LINES == 0:
            on_batch(stats)
    if on_batch is not None:
        on_batch(stats)
    return stats


def _reject(
    stats: RunStats, dead_letter: Callable[[DeadLetter], None], line: Line, why: Rejection
) -> None:
    stats.rejected[why.code] += 1
    dead_letter(DeadLetter.of_line(line.number, why, line.data, line.size))
