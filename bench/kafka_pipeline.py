"""Benchmark: the Kafka path on a simulated national year, beside `refmon run` on the same file.

Prints, from one run against a real broker:
- `refmon publish`: lines per second onto the input topics;
- one `refmon worker` catching up on the whole year (intake and judging, until
  both consumer groups have committed everything), exactly once (transactions,
  the default) and at least once (`--delivery at-least-once`), beside `refmon
  run` on the same file and aiokafka alone consuming the same input topics;
- restart to serving: the caught-up worker is killed (-9) and started again;
  seconds until it has judged a new event (its finding is on the findings topic);
- event -> finding latency, p50 and p99, at a steady offered rate.

Starts its own broker with deploy/kafka-local/kafka.sh unless REFMON_KAFKA_BOOTSTRAP
is set. Usage: python bench/kafka_pipeline.py [--days N] [--rate R] [--seconds S]
(Not named kafka.py: run as a script, that name would shadow the kafka package.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SH = ROOT / "deploy" / "kafka-local" / "kafka.sh"
CACHE = ROOT / "bench" / ".cache"
REFMON = [sys.executable, "-m", "refmon.cli"]
PARTITIONS = 6


@contextlib.contextmanager
def kafka(folder: Path, nodes: int = 1) -> Iterator[str]:
    """The bootstrap of REFMON_KAFKA_BOOTSTRAP if set; else of a broker (or a cluster
    of `nodes`) started with kafka.sh in `folder`/kafka for the block, stopped after."""
    bootstrap = os.environ.get("REFMON_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield bootstrap
        return
    sys.path.insert(0, str(ROOT))  # tests.ports: the tests' own choice of a free port block
    from tests.ports import free_ports

    state = ["--dir", str(folder / "kafka")]
    start = ["bash", str(KAFKA_SH), "start", "--port", str(free_ports(3 * nodes)), *state]
    if nodes > 1:
        start += ["--cluster", str(nodes)]
    try:
        yield subprocess.run(start, check=True, capture_output=True, text=True).stdout.split()[0]
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "stop", *state], check=False)


def refmon(*args: str) -> float:
    """Run a refmon command; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([*REFMON, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def forces() -> list[str]:
    from refmon.schemas import load_forces

    return [f.code for f in load_forces()]


def national_year(days: int) -> Path:
    """`days` of national events ending yesterday: later ones would be refused as future."""
    from datetime import date, timedelta

    start = date.today() - timedelta(days=days + 1)
    path = CACHE / f"national-{days}d-from{start.isoformat()}-seed3.jsonl"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        refmon(
            "simulate",
            "--start",
            start.isoformat(),
            "--days",
            str(days),
            "--seed",
            "3",
            "-q",
            "--output",
            str(path),
        )
    return path


def start_worker(bootstrap: str, prefix: str, folder: Path, *extra: str) -> subprocess.Popen[bytes]:
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
            "event",
            "--partitions",
            str(PARTITIONS),
            *extra,
        ],
        stdout=(folder / f"{prefix}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def lag(bootstrap: str, prefix: str) -> int:
    """Messages not yet committed by the worker's two groups (intake and judging).

    By-force is written in transactions: its last offset is a commit marker, which no
    group commits past, so what is left there is counted by reading it (read_committed)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    try:
        inputs = [TopicPartition(f"{prefix}.in.{s}", 0) for s in [*forces(), "watchdog"]]
        by_force = [TopicPartition(f"{prefix}.by-force", p) for p in range(PARTITIONS)]
        ends = consumer.end_offsets([*inputs, *by_force])
        behind = 0
        for group, tps in ((f"{prefix}-intake", inputs), (prefix, by_force)):
            try:
                done = admin.list_group_offsets({group: None}).get(group, {})
            except KafkaError:  # the group is not there yet: nothing committed
                done = {}
            for tp in tps:
                meta = done.get(tp)
                at = meta.offset if meta is not None and meta.offset >= 0 else 0
                if tp in by_force and ends[tp] > at:
                    behind += records_between(consumer, tp, at, ends[tp])
                else:
                    behind += ends[tp] - at
        return behind
    finally:
        consumer.close()
        admin.close()


def records_between(consumer: KafkaConsumer, tp: TopicPartition, first: int, end: int) -> int:
    """Committed records from `first` up to `end` (markers and aborted records not counted)."""
    consumer.assign([tp])
    consumer.seek(tp, first)
    count = 0
    while consumer.position(tp) < end:
        for records in consumer.poll(timeout_ms=200).values():
            count += sum(1 for r in records if r.offset < end)
        if count:
            return count  # behind: how far does not matter here
    return count


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
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            count += sum(len(records) for records in batches.values())
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def probe(prefix: str, n: int, at: str = "2026-06-01T12:00:00Z") -> tuple[str, bytes]:
    """A mandatory case the force assessed as not mandatory: a finding opens at once."""
    case = f"probe{n:07d}"
    event = {
        "schema_version": 1,
        "event_id": f"{prefix}-p{n}",
        "event_type": "case.recorded",
        "force": "WYP",
        "case_id": case,
        "occurred_at": at,
        "payload": {
            "case_kind": "complaint",
            "harm": "none",
            "allegations": [{"allegation_id": "a1", "category": "serious_assault"}],
            "force_assessment": {"mandatory": False, "criteria": []},
        },
    }
    return case, json.dumps(event).encode()


def findings_consumer(bootstrap: str, prefix: str) -> KafkaConsumer:
    consumer = KafkaConsumer(
        f"{prefix}.findings",
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        group_id=f"watch-{uuid.uuid4().hex[:8]}",
        isolation_level="read_committed",
        fetch_max_wait_ms=10,
    )
    consumer.poll(timeout_ms=2000)  # joined, positioned at the end
    return consumer


def drain(consumer: KafkaConsumer, into: dict[str, float], timeout_ms: int) -> None:
    for records in consumer.poll(timeout_ms=timeout_ms).values():
        for r in records:
            into.setdefault(json.loads(r.value)["case_id"], time.perf_counter())


def create_topics(bootstrap: str, prefix: str) -> None:
    refmon(
        "topics",
        "create",
        "--bootstrap-server",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--partitions",
        str(PARTITIONS),
    )


def at_least_once_catch_up(bootstrap: str, folder: Path, stream: Path) -> float:
    """Seconds for a worker without transactions to catch up on the same year."""
    prefix = f"a{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, prefix)
    where = ("--bootstrap-server", bootstrap, "--topic-prefix", prefix)
    refmon("publish", *where, "--input", str(stream), "-q")
    started = time.perf_counter()
    worker = start_worker(bootstrap, prefix, folder, "--delivery", "at-least-once")
    while lag(bootstrap, prefix) > 0:
        time.sleep(0.25)
    catch_up_s = time.perf_counter() - started
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    return catch_up_s


def catch_up(bootstrap: str, folder: Path, stream: Path, events: int) -> dict[str, Any]:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, prefix)
    publish_s = refmon(
        "publish",
        "--bootstrap-server",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--input",
        str(stream),
        "-q",
    )
    started = time.perf_counter()
    # Cases are looked for to retire every few seconds (60 by default), so that the
    # restart below reads what a long-running worker's changelog holds.
    retiring = ("--retire-seconds", "5")
    worker = start_worker(bootstrap, prefix, folder, *retiring)
    while lag(bootstrap, prefix) > 0:
        time.sleep(0.25)
    catch_up_s = time.perf_counter() - started
    inputs = [f"{prefix}.in.{s}" for s in [*forces(), "watchdog"]]
    raw = asyncio.run(raw_consume(bootstrap, inputs, events))
    time.sleep(12)  # a retirement pass or two after catching up

    # Restart to serving: kill -9 the caught-up worker, start it, time a new event's finding.
    consumer = findings_consumer(bootstrap, prefix)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    log = folder / f"{prefix}.log"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    before = log.read_text(errors="replace").count(f"restored {prefix}.by-force")
    killed = time.perf_counter()
    worker = start_worker(bootstrap, prefix, folder, *retiring)
    case, body = probe(prefix, 0, "2025-12-31T12:00:00Z")
    producer.send(f"{prefix}.in.WYP", key=case.encode(), value=body).get(timeout=30)
    seen: dict[str, float] = {}
    restored_s = float("nan")
    while time.perf_counter() - killed < 120:
        drain(consumer, seen, 100)
        done = log.read_text(errors="replace").count(f"restored {prefix}.by-force") - before
        if done >= PARTITIONS and restored_s != restored_s:
            restored_s = time.perf_counter() - killed
        if case in seen and restored_s == restored_s:
            break
    restart_s = seen.get(case, float("nan")) - killed
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    producer.close()
    consumer.close()
    lines = (folder / f"{prefix}.log").read_text(errors="replace").splitlines()
    restored = [line for line in lines if "restored" in line]
    retired = sum(int(line.split("retired ")[1].split()[0]) for line in lines if "retired " in line)
    return {
        "publish_s": publish_s,
        "catch_up_s": catch_up_s,
        "raw": raw,
        "restart_s": restart_s,
        "restored_s": restored_s,
        "restored": restored[-PARTITIONS - 1 :],
        "retired": retired,
    }


def latency(bootstrap: str, folder: Path, rate: float, seconds: float) -> list[float]:
    prefix = f"l{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, prefix)
    worker = start_worker(bootstrap, prefix, folder)
    try:
        return asyncio.run(_offer(bootstrap, prefix, rate, seconds))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


async def _offer(bootstrap: str, prefix: str, rate: float, seconds: float) -> list[float]:
    """Send probes at a steady rate and time each one's finding, in one event loop: the
    receiving task wakes as soon as a finding arrives, so the figure is the pipeline's."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(
        f"{prefix}.findings",
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        group_id=f"watch-{uuid.uuid4().hex[:8]}",
        isolation_level="read_committed",
        fetch_max_wait_ms=5,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    received: dict[str, float] = {}

    async def receive() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for r in records:
                    received.setdefault(json.loads(r.value)["case_id"], now)

    listening = asyncio.create_task(receive())
    try:
        # Warm up: the worker has joined and restored, and we are at the end of findings.
        case, body = probe(prefix, 0)
        while case not in received:
            await producer.send_and_wait(f"{prefix}.in.WYP", body, key=case.encode())
            await asyncio.sleep(1)
        sent: dict[str, float] = {}
        total = int(rate * seconds)
        start = time.perf_counter()
        for n in range(1, total + 1):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            case, body = probe(prefix, n)
            sent[case] = time.perf_counter()
            await producer.send(f"{prefix}.in.WYP", body, key=case.encode())
        await producer.flush()
        deadline = time.perf_counter() + 30
        while len(received) < total + 1 and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        return sorted(received[c] - sent[c] for c in sent if c in received)
    finally:
        listening.cancel()
        await producer.stop()
        await consumer.stop()


def embedded(stream: Path) -> float:
    return refmon("run", "--input", str(stream), "--report", os.devnull, "-q")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="simulated days (default a year)")
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s offered for latency")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the latency run")
    args = parser.parse_args()
    # kafka-python warns of each "NotLeaderForPartition" while a new topic's leaders are
    # being elected, and asks again: noise among the figures, never a result.
    logging.getLogger("kafka").setLevel(logging.ERROR)
    stream = national_year(args.days)
    events = sum(1 for _ in stream.open("rb"))
    folder = Path(tempfile.mkdtemp(prefix="refmon-bench-"))
    with kafka(folder) as bootstrap:
        run_s = embedded(stream)
        result = catch_up(bootstrap, folder, stream, events)
        at_least_once_s = at_least_once_catch_up(bootstrap, folder, stream)
        delays = latency(bootstrap, folder, args.rate, args.seconds)
    print()
    print(f"a simulated national year: {events:,} events, {stream.name}")
    print(
        f"  refmon publish                          {events / result['publish_s']:10,.0f} lines/s"
    )
    print(
        f"  one worker catching up (from its start) {events / result['catch_up_s']:10,.0f} events/s"
        f"   ({result['catch_up_s']:.1f} s, exactly once: transactions)"
    )
    print(
        f"  the same, at least once                 {events / at_least_once_s:10,.0f} events/s"
        f"   ({at_least_once_s:.1f} s, --delivery at-least-once)"
    )
    print(
        f"  refmon run on the same file             {events / run_s:10,.0f} events/s"
        f"   ({run_s:.1f} s)"
    )
    print(f"  baseline: aiokafka consuming the inputs {result['raw']:10,.0f} events/s")
    print(f"  kill -9, start again: every partition restored {result['restored_s']:5.1f} s")
    print(f"  kill -9, start again: a new event judged        {result['restart_s']:5.1f} s")
    print(f"    cases retired before the kill: {result['retired']:,}")
    for line in result["restored"]:
        print(f"    {line.split(': ', 1)[-1]}")
    print(
        f"latency at {args.rate:g} events/s offered for {args.seconds:g} s "
        f"({len(delays):,} findings):"
    )
    if delays:
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"  event sent -> finding received: p50 {statistics.median(delays) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
