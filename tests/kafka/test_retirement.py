"""Recovery bounded by the window: old cases leave the changelog, and nothing else changes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.state import Folded, held
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Source
from refmon.streams.worker.messages import case_record_key
from refmon.streams.worker.reader import read_topic as read_to_end

from tests.cli import run_cli
from tests.kafka.conftest import Deployment
from tests.kafka.test_worker import embedded_report

SIM = [
    "simulate",
    "--start",
    "2024-01-01",
    "--days",
    "800",
    "--scale",
    "0.04",
    "--seed",
    "6",
    "--duplicates",
    "0.01",
]
RETIRING = ["--clock", "event", "--retire-seconds", "1"]


def changelog(deployment: Deployment) -> tuple[list[bytes], list[Folded], list[Source]]:
    """The live delivery keys, folded cases and late repeats, read as a restore reads them
    (a case's deliveries still there beside its archive record, mid-way through a retiring
    pass, are not live)."""
    topic = Topics(deployment.prefix).cases_changelog
    stored = held(read_to_end(KafkaSettings(deployment.broker.bootstrap), topic))
    live = [case_record_key(d) for d in stored.deliveries]
    return live, stored.all_folded(), list(stored.late)


def test_a_worker_retires_old_cases_and_its_report_still_equals_refmon_run(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "-q", "--output", str(stream)]).status == 0
    lines = stream.read_text().splitlines(keepends=True)
    cut = len(lines) * 9 // 10
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:cut]))
    rest.write_text("".join(lines[cut:]))
    worker = deployment.start_worker("w1", *RETIRING)
    deployment.publish(first)
    expected = json.loads(embedded_report(first))["events"]
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=first)
    # Retiring runs every second: read the changelog until the cases that are old once
    # the worker has caught up have been folded.
    deadline = time.monotonic() + 90
    while True:
        live, folded, late = changelog(deployment)
        folded_deliveries = sum(len(f.sources) for f in folded)
        if len(folded) > 500 and folded_deliveries > expected["valid"] // 5:
            break
        assert time.monotonic() < deadline, (len(folded), folded_deliveries)
        time.sleep(1)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(first)
    # Every delivery is either still there or folded, once: what a restart reads shrank by
    # what was folded, and nothing was lost or kept twice.
    assert len(live) + folded_deliveries + len(late) == expected["valid"] + expected["duplicate"]

    # A restart restores the folded cases, and the rest of the stream judges as before.
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    deployment.start_worker("w1", *RETIRING)
    deployment.publish(rest)
    everything = json.loads(embedded_report(stream))["events"]
    deployment.wait_for(everything["valid"], everything["duplicate"], stream=stream)
    findings = tmp_path / "kafka-findings.jsonl"
    report = run_cli(["report", *deployment.args(), "--findings", str(findings)])
    embedded_findings = tmp_path / "run-findings.jsonl"
    run = run_cli(["run", "--input", str(stream), "-q", "--findings", str(embedded_findings)])
    assert report.stdout == run.stdout
    # Open findings; which resolved ones exist depends on arrival order, by nature.
    assert open_lines(findings) == open_lines(embedded_findings)
    assert len(open_lines(findings)) > 50


def open_lines(path: Path) -> list[str]:
    return sorted(line for line in path.read_text().splitlines() if '"status":"open"' in line)


def count_records(deployment: Deployment) -> tuple[int, int]:
    """Every record the changelog holds now, and how many of them are deletions: what a
    restore reads."""
    from kafka import KafkaConsumer, TopicPartition

    topic = Topics(deployment.prefix).cases_changelog
    consumer = KafkaConsumer(bootstrap_servers=deployment.broker.bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(deployment.partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records = deletions = 0
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                for r in batch:
                    if r.offset < ends[tps[r.partition]]:
                        records += 1
                        deletions += r.value is None
        return records, deletions
    finally:
        consumer.close()


def keep_writing(deployment: Deployment) -> None:
    """Deletions of a key nothing holds (ignored by a restore), to every partition: Kafka
    closes a segment at the first write after `segment.ms` and cleans a log once enough
    of it is new, as a deployment's steady stream of events does; an idle test's would not."""
    from kafka import KafkaProducer

    topic = Topics(deployment.prefix).cases_changelog
    producer = KafkaProducer(bootstrap_servers=deployment.broker.bootstrap)
    try:
        for partition in range(deployment.partitions):
            for _ in range(300):
                producer.send(topic, key=b"#test-roll", value=None, partition=partition)
        producer.flush()
    finally:
        producer.close()


def test_compaction_keeps_the_changelog_proportional_to_live_cases_not_history(
    deployment: Deployment, tmp_path: Path
) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    topic = Topics(deployment.prefix).cases_changelog
    # The topic's own settings, with segments closed every second and deletions kept
    # none: this test's seconds are a deployment's hours.
    quick = {
        "cleanup.policy": "compact",
        "segment.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "0",
    }
    admin = KafkaAdminClient(bootstrap_servers=deployment.broker.bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=quick)])
    finally:
        admin.close()
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "-q", "--output", str(stream)]).status == 0
    deployment.start_worker("w1", *RETIRING)
    deployment.publish(stream)
    expected = json.loads(embedded_report(stream))["events"]
    written = expected["valid"] + expected["duplicate"]
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=stream)
    deadline = time.monotonic() + 90
    while True:
        live, folded, _ = changelog(deployment)
        if len(folded) > 500 and sum(len(f.sources) for f in folded) > written // 4:
            break
        assert time.monotonic() < deadline, len(folded)
        time.sleep(1)
    # What a restore needs: the live cases' deliveries, and an archive record per 500
    # retired cases (one record per retired case before). The log as written is all
    # history: every delivery, then a deletion for each retired case's.
    archives = -(-len(folded) // 500) + deployment.partitions
    needed = len(live) + archives
    deadline = time.monotonic() + 180
    while True:
        keep_writing(deployment)
        time.sleep(5)
        records, deletions = count_records(deployment)
        if records - deletions <= needed and records <= 1.25 * needed:
            break
        assert time.monotonic() < deadline, (records, deletions, len(live), len(folded))
    assert written + sum(len(f.sources) for f in folded) > 1.5 * needed
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
