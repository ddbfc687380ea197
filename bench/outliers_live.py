"""Benchmark: what outliers live cost a worker (docs/kafka.md#outliers), beside what its
statistics tick already costs, in the same run.

A simulated national year with the outlier workflow, judged by six partition engines
split as the workers split it (Kafka's partitioner on the force). Prints:
- the review-point recount of every partition (the work a worker does when new events
  arrive, at most every 4 statistics ticks), beside `held_force_counts`, which every
  statistics tick already does for the funnels;
- the records and bytes the outlier inputs take on the force-counts changelog the
  first time, and then after one more simulated day (only what changed), beside the
  force counts every tick sends.

Usage: python bench/outliers_live.py [--days N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from refmon.streams.engine import Engine, Event
from refmon.streams.wire import review_inputs as wire
from refmon.streams.wire.translate import to_engine_event
from refmon.streams.worker.outliers import ReviewPublisher

from refmon import bootstrap

PARTITIONS = 6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    days = parser.parse_args().days
    with tempfile.TemporaryDirectory() as folder:
        stream = Path(folder, "events.jsonl")
        simulate = [sys.executable, "-m", "refmon.cli", "simulate", "--days", str(days + 1)]
        subprocess.run(
            [*simulate, "--oversight", "--under-refer", "DUR,LINCS", "-q", "--output", str(stream)],
            check=True,
        )
        lines = stream.read_text().splitlines()
    wiring = bootstrap.build()
    engines = {p: bootstrap.build().engine for p in range(PARTITIONS)}
    every = list(range(PARTITIONS))
    choose = DefaultPartitioner()
    events = sorted(
        (to_engine_event(wiring.adapter.validate_json(line)) for line in lines),
        key=lambda e: e.occurred_at_us,
    )
    # The day before the last: the last one starts a month, a new review point.
    end = events[-1].occurred_at_us - 86_400_000_000
    start = end - 86_400_000_000
    year = [e for e in events if e.occurred_at_us <= start]
    day = [e for e in events if start < e.occurred_at_us <= end]

    def apply(batch: list[Event]) -> None:
        for event in batch:
            engines[choose(event.force.encode(), every, every)].apply(event)

    apply(year)
    zone = wiring.engine.ruleset.zone
    publisher = ReviewPublisher("counts", 365)
    values: dict[str, Any] = {}

    def publish() -> tuple[float, int, int]:
        started = time.perf_counter()
        sends = publisher.publish(engines, wire.read(values), zone)
        took = time.perf_counter() - started
        publisher.sent(sends)
        for s in sends:
            values[json.loads(s.key or b"")] = json.loads(s.value or b"")
        return took, len(sends), sum(len(s.value or b"") + len(s.key or b"") for s in sends)

    first = publish()
    publish()  # every partition now knows the others' first event and clock
    apply(day)
    then = publish()
    started = time.perf_counter()
    counts = {f: c for e in engines.values() for f, c in held_counts(e).items()}
    baseline = time.perf_counter() - started

    counts_bytes = sum(len(json.dumps(c.to_json())) + len(f) + 2 for f, c in counts.items())
    print(f"{len(year) + len(day):,} events over {days} days, {PARTITIONS} partitions")
    print(
        f"review-point recount, all partitions: {first[0] * 1000:,.0f} ms first, "
        f"{then[0] * 1000:,.0f} ms after one more day | baseline, held_force_counts every "
        f"tick: {baseline * 1000:,.0f} ms"
    )
    print(
        f"outlier inputs sent: {first[1]:,} records, {first[2] / 1e6:.2f} MB the first time; "
        f"{then[1]:,} records, {then[2] / 1e3:.1f} kB after one more day | baseline, force "
        f"counts every tick: {len(counts)} records, {counts_bytes / 1e6:.2f} MB"
    )


def held_counts(engine: Engine) -> dict[str, object]:
    return dict(engine.held_force_counts(365))


if __name__ == "__main__":
    main()
