"""Benchmark: what it costs a worker to start its force-level announcers from the findings
topic (docs/kafka.md#force-level-findings-after-a-restart), on a national year's findings.

The findings of a simulated national year with the outlier workflow (`refmon run
--findings`, each as the findings topic holds it) are produced to a findings topic of
six partitions, as many times as `--copies` (the uncompacted history of a busy topic).
Prints, from one run against a real broker:
- the seed read: every partition read committed, each value's kind peeked at, the
  force-level ones parsed (what a worker does when a force is new to it);
- beside it, the same topic read as `refmon report` reads a compacted topic (every key's
  latest value, partition by partition), and the parse of every value in memory.

Starts its own broker with deploy/kafka-local/kafka.sh unless REFMON_KAFKA_BOOTSTRAP
is set. Usage: python bench/findings_seed.py [--days N] [--copies C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer
from kafka_pipeline import create_topics, kafka, refmon  # run as a script: bench/
from refmon.streams.engine import Finding
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker.announced import decoded, force_level
from refmon.streams.worker.reader import read_committed_where, read_topic

PARTITIONS = 6


def national_findings(folder: Path, days: int) -> list[bytes]:
    stream, findings = folder / "events.jsonl", folder / "findings.jsonl"
    refmon("simulate", "--days", str(days + 1), "--oversight", "--under-refer", "DUR,LINCS",
           "-q", "--output", str(stream))  # fmt: skip
    refmon("run", "--input", str(stream), "--findings", str(findings), "-q")
    return [line.encode() for line in findings.read_text().splitlines()]


def produce(bootstrap: str, topic: str, values: list[bytes], copies: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=1 << 20)
    for _ in range(copies):
        for value in values:
            producer.send(topic, key=json.loads(value)["finding_id"].encode(), value=value)
    producer.flush()
    producer.close()


def measure(bootstrap: str, values: list[bytes], copies: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, prefix)
    topic = Topics(prefix).findings
    produce(bootstrap, topic, values, copies)
    settings = KafkaSettings(bootstrap)

    def seed() -> tuple[list[Finding], float]:
        started = time.perf_counter()
        kept = asyncio.run(read_committed_where(settings, topic, PARTITIONS, force_level))
        return decoded(kept.values()), time.perf_counter() - started

    seeded, seed_s = seed()  # first: it pays for the first connection, as a worker does
    started = time.perf_counter()
    everything = read_topic(settings, topic)
    report_s = time.perf_counter() - started
    _, again_s = seed()
    started = time.perf_counter()
    for value in everything.values():
        json.loads(value or b"null")
    parse_s = time.perf_counter() - started
    megabytes = sum(len(v) for v in values) * copies / 1e6
    kinds: dict[str, int] = {}
    for finding in seeded:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    print(f"a national year's findings: {len(values):,} findings x {copies} on the topic "
          f"({megabytes:.1f} MB), {PARTITIONS} partitions")  # fmt: skip
    print(f"  seed read (read_committed, kind peeked)  {seed_s:6.2f} s, again {again_s:.2f} s"
          f"  -> {len(seeded)} "
          f"force-level findings {kinds}")  # fmt: skip
    print(f"  beside it: read_topic, every key          {report_s:6.2f} s  -> {len(everything):,}")
    print(f"  beside it: json.loads of every value      {parse_s:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="simulated days (default a year)")
    parser.add_argument("--copies", type=int, default=2, help="times each finding is on the topic")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="refmon-bench-"))
    values = national_findings(folder, args.days)
    with kafka(folder) as bootstrap:
        measure(bootstrap, values, args.copies)


if __name__ == "__main__":
    main()
