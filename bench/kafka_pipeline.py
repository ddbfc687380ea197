"""Benchmark: the Kafka path (publish -> worker -> findings) against a real broker.

Prints, in one run: events per second through `refmon publish` + one
`refmon worker` (until the worker has committed everything), beside the raw
rate at which aiokafka alone consumes the same input topics; and the
event-to-finding latency (p50/p99) at a steady publishing rate. Starts its own
broker with deploy/kafka-local/kafka.sh unless REFMON_KAFKA_BOOTSTRAP is set.
Usage: python bench/kafka_pipeline.py [--days N] [--rate EVENTS_PER_S] [--seconds S]
(Not named kafka.py: run as a script, that name would shadow the kafka package.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SH = ROOT / "deploy" / "kafka-local" / "kafka.sh"
REFMON = [sys.executable, "-m", "refmon.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def refmon(*args: str) -> None:
    subprocess.run([*REFMON, *args], check=True)


def lag(bootstrap: str, group: str, topics: list[str]) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        end = consumer.end_offsets(tps)
        return sum(end[tp] - (consumer.committed(tp) or 0) for tp in tps)
    finally:
        consumer.close()


async def raw_consume(bootstrap: str, topics: list[str], expected: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        count, started = 0, time.perf_counter()
        while count < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            count += sum(len(records) for records in batches.values())
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def start_worker(bootstrap: str, prefix: str, folder: Path, clock: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *REFMON,
            "worker",
            "--bootstrap-server",
            bootstrap,
            "--topic-prefix",
            prefix,
            "--data-dir",
            str(folder / prefix),
            "--clock",
            clock,
            "--partitions",
            "6",
        ],
        stdout=(folder / f"{prefix}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def throughput(bootstrap: str, folder: Path, days: int) -> tuple[int, float, float]:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    refmon("topics", "create", "--bootstrap-server", bootstrap, "--topic-prefix", prefix)
    stream = folder / "stream.jsonl"
    refmon(
        "simulate",
        "--days",
        str(days),
        "--scale",
        "1",
        "--seed",
        "3",
        "-q",
        "--output",
        str(stream),
    )
    events = sum(1 for _ in stream.open("rb"))
    worker = start_worker(bootstrap, prefix, folder, "event")
    time.sleep(8)  # let it join and recover before the clock starts
    started = time.perf_counter()
    refmon(
        "publish",
        "--bootstrap-server",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--input",
        str(stream),
        "-q",
    )
    inputs = [f"{prefix}.in.{t}" for t in json_forces()] + [
        f"{prefix}.in.watchdog",
        f"{prefix}.by-force",
    ]
    while lag(bootstrap, prefix, inputs) > 0:
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    worker.terminate()
    worker.wait(timeout=60)
    raw = asyncio.run(raw_consume(bootstrap, inputs[:-1], events))
    return events, events / elapsed, raw


def json_forces() -> list[str]:
    from refmon.schemas import load_forces

    return [f.code for f in load_forces()]


def latency(bootstrap: str, folder: Path, rate: float, seconds: float) -> list[float]:
    """Mandatory cases the force assessed as not mandatory: each opens a finding at once."""
    prefix = f"l{uuid.uuid4().hex[:8]}"
    refmon("topics", "create", "--bootstrap-server", bootstrap, "--topic-prefix", prefix)
    worker = start_worker(bootstrap, prefix, folder, "event")
    time.sleep(8)
    consumer = KafkaConsumer(
        f"{prefix}.findings",
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        group_id=f"lat-{prefix}",
    )
    consumer.poll(timeout_ms=2000)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    sent: dict[str, float] = {}
    total = int(rate * seconds)
    start = time.perf_counter()
    received: dict[str, float] = {}
    for n in range(total):
        case = f"lat{n:06d}"
        event = {
            "schema_version": 1,
            "event_id": f"{prefix}-{n}",
            "event_type": "case.recorded",
            "force": "WYP",
            "case_id": case,
            "occurred_at": "2026-06-01T12:00:00Z",
            "payload": {
                "case_kind": "complaint",
                "harm": "none",
                "allegations": [{"allegation_id": "a1", "category": "serious_assault"}],
                "force_assessment": {"mandatory": False, "criteria": []},
            },
        }
        due = start + n / rate
        while (now := time.perf_counter()) < due:
            for records in consumer.poll(timeout_ms=max(0, int((due - now) * 1000))).values():
                for r in records:
                    received.setdefault(json.loads(r.value)["case_id"], time.perf_counter())
        sent[case] = time.perf_counter()
        producer.send(f"{prefix}.in.WYP", key=case.encode(), value=json.dumps(event).encode())
    producer.flush()
    deadline = time.perf_counter() + 30
    while len(received) < total and time.perf_counter() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                received.setdefault(json.loads(r.value)["case_id"], time.perf_counter())
    worker.terminate()
    worker.wait(timeout=60)
    return [received[c] - sent[c] for c in sent if c in received]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=int, default=60, help="simulated days for the throughput run"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="events per second for latency")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="refmon-bench-"))
    bootstrap = os.environ.get("REFMON_KAFKA_BOOTSTRAP")
    started_broker = bootstrap is None
    if started_broker:
        out = subprocess.run(
            [
                "bash",
                str(KAFKA_SH),
                "start",
                "--port",
                str(free_port()),
                "--dir",
                str(folder / "kafka"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        bootstrap = out.stdout.split()[0]
    assert bootstrap is not None
    try:
        events, rate, raw = throughput(bootstrap, folder, args.days)
        delays = sorted(latency(bootstrap, folder, args.rate, args.seconds))
    finally:
        if started_broker:
            subprocess.run(
                ["bash", str(KAFKA_SH), "stop", "--dir", str(folder / "kafka")], check=False
            )
    print()
    print(f"throughput over {events:,} events (one worker, event clock, rocksdict store):")
    print(f"  publish + worker, until all committed  {rate:10,.0f} events/s")
    print(f"  baseline: aiokafka consuming the same  {raw:10,.0f} events/s")
    print(f"latency at {args.rate:g} events/s for {args.seconds:g} s ({len(delays)} findings):")
    if delays:
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"  event sent -> finding received: p50 {statistics.median(delays) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
