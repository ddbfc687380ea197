"""A deployment of the Faust release (0.1) upgrades in place: its case table and backlog are read.

The Faust worker kept one changelog entry per case (every raw event and the
input offsets it came from), forwarded `{"source", "event"}` JSON on the
by-force topic, and had one consumer group, named by the prefix, for inputs
and by-force alike. This test writes that state exactly as 0.1 left it, partway
through a stream, and starts the new worker on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker.reader import read_topic as read_to_end

from tests.cli import run_cli
from tests.kafka.conftest import Deployment
from tests.kafka.test_worker import embedded_report, read_topic

SIM = ["simulate", "--days", "45", "--scale", "0.25", "--seed", "4", "--duplicates", "0.02", "-q"]


def test_a_case_table_and_backlog_left_by_the_faust_release_are_read_and_migrated(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    topics = Topics(deployment.prefix)
    deployment.publish(stream)  # the inputs, as forces sent them
    inputs = [
        r for t in {topics.input(s) for s in _sources(stream)} for r in read_topic(deployment, t)
    ]
    inputs.sort(key=lambda r: (r.timestamp, r.topic, r.offset))
    judged, backlog = inputs[: len(inputs) * 2 // 3], inputs[len(inputs) * 2 // 3 :]

    producer = KafkaProducer(bootstrap_servers=deployment.broker.bootstrap, acks="all")
    entries: dict[tuple[int, str], dict[str, Any]] = {}
    first_backlog: dict[int, int] = {}
    for n, record in enumerate([*judged, *backlog]):
        event = json.loads(record.value)
        source = f"{record.topic}:{record.partition}:{record.offset}"
        body = json.dumps({"source": source, "event": record.value.decode()}).encode()
        sent = producer.send(topics.by_force, key=event["force"].encode(), value=body).get(30)
        if n < len(judged):
            entry = entries.setdefault(
                (sent.partition, f"{event['force']}/{event['case_id']}"),
                {"partition": sent.partition, "events": {}, "sources": {}},
            )
            entry["events"].setdefault(event["event_id"], record.value.decode())
            entry["sources"].setdefault(event["event_id"], []).append(source)
        else:
            first_backlog.setdefault(sent.partition, sent.offset)
    for (partition, key), entry in entries.items():
        producer.send(
            topics.cases_changelog,
            key=json.dumps(key).encode(),
            value=json.dumps(entry).encode(),
            partition=partition,
        )
    producer.flush()
    producer.close()
    ends = _commit_as_0_1(deployment, topics, first_backlog)

    deployment.start_worker("w1", "--clock", "event")
    expected = json.loads(embedded_report(stream))["events"]
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=stream)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
    assert "migrated" in (deployment.folder / "w1.log").read_text()
    changelog = read_to_end(KafkaSettings(deployment.broker.bootstrap), topics.cases_changelog)
    assert not [k for k, v in changelog.items() if k.startswith(b'"') and v is not None]
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
    # The intake group took up where 0.1 had got to: nothing was forwarded twice.
    assert _end_offsets(deployment, [TopicPartition(topics.by_force, p) for p in range(3)]) == ends


def _sources(stream: Path) -> set[str]:
    found = set()
    for line in stream.read_text().splitlines():
        event = json.loads(line)
        found.add("watchdog" if event["event_type"].startswith("referral.") else event["force"])
    return found


def _commit_as_0_1(
    deployment: Deployment, topics: Topics, first_backlog: dict[int, int]
) -> dict[TopicPartition, int]:
    """0.1's one group, named by the prefix: every input read, by-force judged up to the backlog."""
    consumer = KafkaConsumer(
        bootstrap_servers=deployment.broker.bootstrap,
        group_id=topics.app_id,
        enable_auto_commit=False,
    )
    try:
        by_force = [TopicPartition(topics.by_force, p) for p in range(3)]
        ins = [
            TopicPartition(t, 0) for t in consumer.topics() if t.startswith(f"{topics.prefix}.in.")
        ]
        ends = consumer.end_offsets([*by_force, *ins])
        offsets = {tp: OffsetAndMetadata(ends[tp], "", -1) for tp in ins}
        offsets |= {
            tp: OffsetAndMetadata(first_backlog.get(tp.partition, ends[tp]), "", -1)
            for tp in by_force
        }
        consumer.commit(offsets)
        return {tp: ends[tp] for tp in by_force}
    finally:
        consumer.close()


def _end_offsets(deployment: Deployment, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=deployment.broker.bootstrap)
    try:
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()
