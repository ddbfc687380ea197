"""A worker that restarts, or takes a force over, announces none of the force-level findings
already on the findings topic again (issue 22): a read_committed consumer of the findings
and alerts topics sees no force-level message repeat the one before it of the same key."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker.announced import force_level
from refmon.streams.worker.reader import read_committed_where

from tests.cli import run_cli
from tests.factories import recorded
from tests.kafka.conftest import Deployment
from tests.kafka.test_cross_force import by_force, exposition, scrape
from tests.kafka.test_outliers_live import (
    SIM,
    announced,
    embedded_metrics,
    outlier_samples,
    overdue_lines,
    settled,
)

FORCE_LEVEL = {"deterioration", "volume_anomaly", "outlier_overdue"}
WORKER = ("--clock", "event", "--metrics-port", "0", "--stats-seconds", "1")


def committed(deployment: Deployment, topic: str) -> list[tuple[bytes, bytes]]:
    """Every committed record of `topic`, from the beginning to its end offsets now."""
    consumer = KafkaConsumer(
        bootstrap_servers=deployment.broker.bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[tuple[bytes, bytes]] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend((r.key, r.value) for r in batch if r.value is not None)
        return records
    finally:
        consumer.close()


def repeats(records: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """The force-level messages equal to the one before them with the same key."""
    before: dict[bytes, bytes] = {}
    found = []
    for key, value in records:
        finding = json.loads(value)
        if finding["kind"] in FORCE_LEVEL and before.get(key) == value:
            found.append(finding)
        before[key] = value
    return found


def held(log: Path, metrics: dict[Any, float]) -> set[str]:
    """The forces the worker held at its last statistics tick once it had every outlier in
    view (their findings announced: metrics follow them in the same tick); empty before."""
    try:
        text = exposition(log)
    except (AssertionError, OSError):
        return set()
    if outlier_samples(text) != metrics:
        return set()
    return set(by_force(scrape(log), "refmon_force_referral_delay_seconds_count"))


def wait_until_holding(log: Path, metrics: dict[Any, float], forces: set[str] | None) -> set[str]:
    """Until the worker holds `forces` (None: any)."""
    deadline = time.monotonic() + 120
    while True:
        now = held(log, metrics)
        if now and (forces is None or now == forces):
            return now
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(1)


def test_a_restarted_worker_and_one_taking_over_repeat_no_force_level_finding(
    deployment: Deployment, tmp_path: Path
) -> None:
    simulated = tmp_path / "simulated.jsonl"
    assert run_cli([*SIM, "--output", str(simulated)]).status == 0
    # As in test_outliers_live.py: the actions first, and last a case months on, so that
    # the clock passes the outliers' deadlines and their findings open.
    lines = simulated.read_text().splitlines()
    actions = [line for line in lines if '"outlier.' in line]
    others = [line for line in lines if '"outlier.' not in line]
    later = json.dumps(recorded("2025-08-15T10:00:00Z", case="later", force="MPS"))
    stream = tmp_path / "events.jsonl"
    stream.write_text("\n".join([*actions, *others, later]) + "\n")
    findings = tmp_path / "embedded-findings.jsonl"
    result = run_cli(["run", "--input", str(stream), "--findings", str(findings), "-q"])
    assert result.status == 0
    expected = overdue_lines(findings.read_text().splitlines())
    assert any(f["status"] == "open" for f in expected.values())  # not vacuous
    events = [json.loads(line) for line in stream.read_text().splitlines()]
    metrics = embedded_metrics(events)
    counts = json.loads(result.stdout)["events"]
    forces = [row["force"] for row in json.loads(result.stdout)["forces"]]
    topics = Topics(deployment.prefix)

    first = deployment.start_worker("w1", *WORKER)
    deployment.publish(stream)
    deployment.wait_for(counts["valid"], counts["duplicate"], stream=stream)
    deadline = time.monotonic() + 120
    while not settled(announced(deployment, topics.findings), expected):
        assert time.monotonic() < deadline
        time.sleep(1)
    everyone = wait_until_holding(tmp_path / "w1.log", metrics, None)

    # Killed when caught up, started again from the same data directory ...
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    deployment.start_worker("w1", *WORKER)
    wait_until_holding(tmp_path / "w1.log", metrics, everyone)
    # ... and a second worker takes some of its forces over.
    deployment.start_worker("w2", *WORKER)
    wait_until_holding(tmp_path / "w2.log", metrics, None)

    kinds = {json.loads(v)["kind"] for _, v in committed(deployment, topics.findings)}
    assert "outlier_overdue" in kinds
    for topic in (topics.findings, *(topics.alerts(f) for f in forces)):
        assert repeats(committed(deployment, topic)) == [], topic


def test_the_seed_read_keeps_committed_values_only_and_ends_after_transaction_markers(
    deployment: Deployment,
) -> None:
    topic = Topics(deployment.prefix).findings
    settings = KafkaSettings(deployment.broker.bootstrap)

    async def scenario() -> dict[bytes, bytes]:
        producer = AIOKafkaProducer(
            bootstrap_servers=deployment.broker.bootstrap, transactional_id=deployment.prefix
        )
        await producer.start()
        try:
            for key, value, commit in (
                (b"a", b'{"kind":"deterioration","n":1}', True),
                (b"a", b'{"kind":"deterioration","n":2}', False),
                (b"b", b'{"kind":"missed_referral"}', True),
                (b"c", b'{"kind":"volume_anomaly"}', True),
                (b"c", b'{"kind":"volume_anomaly","n":3}', False),
            ):
                await producer.begin_transaction()
                await producer.send_and_wait(topic, value, key=key)
                if commit:
                    await producer.commit_transaction()
                else:
                    await producer.abort_transaction()
        finally:
            await producer.stop()
        # Each partition written to now ends with a transaction marker, not a record.
        return await read_committed_where(settings, topic, deployment.partitions, force_level)

    assert asyncio.run(scenario()) == {
        b"a": b'{"kind":"deterioration","n":1}',
        b"c": b'{"kind":"volume_anomaly"}',
    }
