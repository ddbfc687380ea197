"""Benchmark: restart to serving with one year held and with five, side by side.

For each history (a simulated national year, and five), on one real broker or a
cluster: publish it, let one worker catch up with retirement on, then
- count the case changelog's records (all of them, deletions, retired-case
  records, live keys) and the worker's resident memory;
- kill -9 the worker, start it again, time until a new event's finding is on
  the findings topic (serving) and until every partition is restored: once
  reading its snapshots (streams/worker/snapshot.py), then side by side once
  with them off (`--snapshot-seconds 0`: the whole changelog replayed);
- let compaction run (the changelog's segments are closed every few seconds
  here, so that minutes stand for the weeks a deployment runs), count again,
  and time the same two restarts again.

Starts its own broker (or, with --cluster 3, three) with deploy/kafka-local/kafka.sh
unless REFMON_KAFKA_BOOTSTRAP is set. Usage:
python bench/restart.py [--years 1,5] [--scale F] [--cluster K] [--latency]
(--latency also runs kafka_pipeline's event -> finding latency at 1,000 events/s.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import kafka_pipeline as kp
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

COMPACTION_WAIT_S = 240.0


class Count(NamedTuple):
    records: int
    deletions: int
    retired: int
    live_keys: int


class Restart(NamedTuple):
    serving_s: float
    restored_s: float
    rss_mb: float
    resumed: int
    """Partitions resumed from their snapshots (the rest replayed the whole changelog)."""


def history(days: int, scale: float) -> Path:
    """`days` of national events (times `scale`) ending yesterday, cached in bench/.cache."""
    if scale == 1:
        return kp.national_year(days)
    start = date.today() - timedelta(days=days + 1)
    path = kp.CACHE / f"national-{days}d-x{scale:g}-from{start.isoformat()}-seed3.jsonl"
    if not path.exists():
        kp.CACHE.mkdir(exist_ok=True)
        kp.refmon(
            "simulate",
            "--start",
            start.isoformat(),
            "--days",
            str(days),
            "--scale",
            str(scale),
            "--seed",
            "3",
            "-q",
            "--output",
            str(path),
        )
    return path


async def _count(bootstrap: str, topic: str) -> Count:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(kp.PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records = deletions = 0
        latest: dict[bytes, bool] = {}
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000, max_records=50_000)
                for r in batch.get(tp, []):
                    if r.offset >= ends[tp]:
                        continue
                    records += 1
                    deletions += r.value is None
                    latest[bytes(r.key or b"")] = r.value is not None
        live = [k for k, present in latest.items() if present]
        # Retired cases: archive records (#retired/P/N), or one record each before them.
        retired = sum(1 for k in live if k.startswith(b"#retired/") or k.endswith(b"@retired"))
        return Count(records, deletions, retired, len(live))
    finally:
        await consumer.stop()


def count(bootstrap: str, prefix: str) -> Count:
    return asyncio.run(_count(bootstrap, f"{prefix}-cases-changelog"))


def roll_segments_often(bootstrap: str, prefix: str) -> None:
    """Close the changelog's segments every 5 s and keep deletions 1 s: Kafka compacts
    closed segments only, and this benchmark's minutes stand for a deployment's weeks.
    A segment closes on the next write after that, so each partition gets a deletion
    of a key nothing holds (`#bench-roll`: ignored by a restore) now and then."""
    from refmon.schemas import load_forces
    from refmon.streams.kafka.topics import Topics

    topic = f"{prefix}-cases-changelog"
    spec = next(
        s
        for s in Topics(prefix).specs((f.code for f in load_forces()), kp.PARTITIONS)
        if s.name == topic
    )
    configs = {
        **spec.config,
        "segment.ms": "5000",
        "delete.retention.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01",
    }
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
    finally:
        admin.close()


def nudge(bootstrap: str, prefix: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for p in range(kp.PARTITIONS):
            for _ in range(300):  # enough new bytes for the cleaner to pass again
                producer.send(
                    f"{prefix}-cases-changelog", key=b"#bench-roll", value=None, partition=p
                )
        producer.flush()
    finally:
        producer.close()


def compact(bootstrap: str, prefix: str) -> Count:
    """Let compaction run until the log holds little more than its live keys."""
    roll_segments_often(bootstrap, prefix)
    waited = time.perf_counter()
    while True:
        for _ in range(4):
            time.sleep(6)
            nudge(bootstrap, prefix)
        counted = count(bootstrap, prefix)
        done = counted.records <= 1.1 * counted.live_keys + 10 * kp.PARTITIONS
        if done or time.perf_counter() - waited > COMPACTION_WAIT_S:
            return counted


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def restart(
    bootstrap: str,
    prefix: str,
    folder: Path,
    worker: subprocess.Popen[bytes],
    n: int,
    snapshots: bool,
) -> tuple[subprocess.Popen[bytes], Restart]:
    """kill -9 the worker, start it again (reading its snapshots, or with them off: the
    whole changelog); seconds until a new event's finding is out."""
    consumer = kp.findings_consumer(bootstrap, prefix)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    log = folder / f"{prefix}.log"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    mark = f"restored {prefix}.by-force"
    text = log.read_text(errors="replace")
    before, resumed = text.count(mark), text.count(RESUMED)
    killed = time.perf_counter()
    flags = RETIRING if snapshots else (*RETIRING, "--snapshot-seconds", "0")
    worker = kp.start_worker(bootstrap, prefix, folder, *flags)
    case, body = kp.probe(prefix, n, (date.today() - timedelta(days=1)).isoformat() + "T06:00:00Z")
    producer.send(f"{prefix}.in.WYP", key=case.encode(), value=body).get(timeout=30)
    seen: dict[str, float] = {}
    restored_s = float("nan")
    while time.perf_counter() - killed < 300:
        kp.drain(consumer, seen, 100)
        if restored_s != restored_s and log.read_text(errors="replace").count(mark) - before >= (
            kp.PARTITIONS
        ):
            restored_s = time.perf_counter() - killed
        if case in seen and restored_s == restored_s:
            break
    serving_s = seen.get(case, float("nan")) - killed
    producer.close()
    consumer.close()
    resumed = log.read_text(errors="replace").count(RESUMED) - resumed
    return worker, Restart(serving_s, restored_s, rss_mb(worker.pid), resumed)


RETIRING = ("--retire-seconds", "5", "--snapshot-seconds", "5")
"""Retiring and snapshots every 5 s: this benchmark's minutes stand for a deployment's days."""
RESUMED = "resumed from its snapshot"


def run_history(bootstrap: str, folder: Path, stream: Path) -> dict[str, Any]:
    prefix = f"r{uuid.uuid4().hex[:8]}"
    kp.create_topics(bootstrap, prefix)
    kp.refmon(
        "publish", "--bootstrap-server", bootstrap, "--topic-prefix", prefix,
        "--input", str(stream), "-q",
    )  # fmt: skip
    started = time.perf_counter()
    worker = kp.start_worker(bootstrap, prefix, folder, *RETIRING)
    while kp.lag(bootstrap, prefix) > 0:
        time.sleep(0.5)
    catch_up_s = time.perf_counter() - started
    time.sleep(15)  # retirement passes after catching up
    caught_up_rss = rss_mb(worker.pid)
    written = count(bootstrap, prefix)
    worker, first = restart(bootstrap, prefix, folder, worker, 1, snapshots=True)
    worker, whole = restart(bootstrap, prefix, folder, worker, 2, snapshots=False)
    compacted = compact(bootstrap, prefix)
    worker, second = restart(bootstrap, prefix, folder, worker, 3, snapshots=True)
    time.sleep(15)  # the restored partitions' snapshots
    worker, second_whole = restart(bootstrap, prefix, folder, worker, 4, snapshots=False)
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    lines = (folder / f"{prefix}.log").read_text(errors="replace").splitlines()
    retired = sum(int(line.split("retired ")[1].split()[0]) for line in lines if "retired " in line)
    return {
        "events": sum(1 for _ in stream.open("rb")),
        "catch_up_s": catch_up_s,
        "caught_up_rss": caught_up_rss,
        "retired": retired,
        "written": written,
        "first": first,
        "whole": whole,
        "compacted": compacted,
        "second": second,
        "second_whole": second_whole,
        "restored": [
            line.split(": ", 1)[-1] for line in lines if ".by-force[" in line and "restored" in line
        ][-kp.PARTITIONS :],
    }


def restart_rows(key: str, title: str) -> list[tuple[str, Any]]:
    return [
        (f"{title}: serving (s)", lambda r: f"{r[key].serving_s:.1f}"),
        ("  every partition restored (s)", lambda r: f"{r[key].restored_s:.1f}"),
        ("  partitions resumed from a snapshot", lambda r: f"{r[key].resumed}"),
        ("  RSS after (MB)", lambda r: f"{r[key].rss_mb:.0f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1,5", help="histories to compare (default 1,5)")
    parser.add_argument("--scale", type=float, default=1.0, help="national volume times F")
    parser.add_argument("--cluster", type=int, default=1, help="brokers to start (default 1)")
    parser.add_argument("--latency", action="store_true", help="also p99 at 1,000 events/s")
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    streams = {y: history(365 * y + (y // 4), args.scale) for y in years}
    folder = Path(tempfile.mkdtemp(prefix="refmon-restart-"))
    own = not os.environ.get("REFMON_KAFKA_BOOTSTRAP")
    with kp.kafka(folder, args.cluster) as bootstrap:
        results = {y: run_history(bootstrap, folder, streams[y]) for y in years}
        delays = kp.latency(bootstrap, folder, 1000.0, 30.0) if args.latency else []
    where = f"{args.cluster} broker(s)" if own else bootstrap
    print(f"\nrestart to serving, {where}, national volume x{args.scale:g}")
    rows: list[tuple[str, Any]] = [
        ("events", lambda r: f"{r['events']:,}"),
        ("worker catch-up (s)", lambda r: f"{r['catch_up_s']:.1f}"),
        ("cases retired", lambda r: f"{r['retired']:,}"),
        ("RSS caught up (MB)", lambda r: f"{r['caught_up_rss']:.0f}"),
        ("changelog as written: records", lambda r: f"{r['written'].records:,}"),
        ("  of them deletions", lambda r: f"{r['written'].deletions:,}"),
        ("  live keys (retired-case records)",
         lambda r: f"{r['written'].live_keys:,} ({r['written'].retired:,})"),
        *restart_rows("first", "kill -9, restart from snapshots"),
        *restart_rows("whole", "kill -9, restart, snapshots off"),
        ("changelog compacted: records", lambda r: f"{r['compacted'].records:,}"),
        ("  live keys (retired-case records)",
         lambda r: f"{r['compacted'].live_keys:,} ({r['compacted'].retired:,})"),
        *restart_rows("second", "compacted: restart from snapshots"),
        *restart_rows("second_whole", "compacted: restart, snapshots off"),
    ]  # fmt: skip
    print(f"  {'':46}" + "".join(f"{f'{y} year(s)':>16}" for y in years))
    for label, cell in rows:
        print(f"  {label:46}" + "".join(f"{cell(results[y]):>16}" for y in years))
    if len(years) == 2:
        for key, what in (("second", "from snapshots"), ("second_whole", "snapshots off")):
            a, b = (results[y][key].serving_s for y in years)
            print(f"  serving, compacted, {what}: {years[1]} years / {years[0]} = {b / a:.2f}")
    for y in years:
        print(f"  {y} year(s), last restore per partition:")
        for line in results[y]["restored"]:
            print(f"    {line}")
    if delays:
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"event -> finding at 1,000 events/s for 30 s ({len(delays):,} findings): "
            f"p50 {statistics.median(delays) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
