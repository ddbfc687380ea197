"""The worker against real Kafka: poison input, the live clock, a crash, and rebalancing."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from refmon.streams.engine.timeutil import end_of_following_day, format_utc, from_micros
from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli
from tests.factories import micros, recorded
from tests.kafka.conftest import Deployment

LONDON = __import__("zoneinfo").ZoneInfo("Europe/London")


def read_topic(deployment: Deployment, topic: str, timeout: float = 5.0) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=deployment.broker.bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def embedded_report(stream: Path) -> str:
    result = run_cli(["run", "--input", str(stream), "-q"])
    assert result.status == 0
    return result.stdout


def test_poison_and_mismatched_messages_go_to_the_dead_letters_and_the_worker_goes_on(
    deployment: Deployment,
) -> None:
    topics = Topics(deployment.prefix)
    good = recorded("2026-02-02T10:00:00Z", case="ok1")
    sends = [
        (topics.input("DUR"), b"{not json"),
        (topics.input("DUR"), b"\xff\xfe\x00"),
        (topics.input("DUR"), json.dumps(recorded("2026-02-02T10:00:00Z", force="MPS")).encode()),
        (
            topics.input("DUR"),
            json.dumps(
                {
                    **recorded("2026-02-02T10:00:00Z"),
                    "event_type": "referral.received",
                    "payload": {},
                }
            ).encode(),
        ),
        (topics.input("watchdog"), json.dumps(recorded("2026-02-02T10:00:00Z", case="w")).encode()),
        (topics.input("DUR"), json.dumps(good).encode()),
    ]
    producer = KafkaProducer(bootstrap_servers=deployment.broker.bootstrap, acks="all")
    for topic, value in sends:
        producer.send(topic, key=b"k", value=value)
    producer.flush()
    producer.close()
    deployment.start_worker("w1", "--clock", "event")
    report = deployment.wait_for(valid=1)
    letters = [json.loads(r.value) for r in read_topic(deployment, topics.dead_letter)]
    assert sorted(d["reason"] for d in letters) == sorted(
        ["not_json", "invalid_utf8", "force_mismatch", "force_mismatch", "force_mismatch"]
    )
    assert all(d["topic"].startswith(deployment.prefix) and "offset" in d for d in letters)
    assert any(
        "belongs on" in d["message"] and d["message"].endswith(".in.watchdog") for d in letters
    )
    assert report["events"]["invalid"] == 5
    dur = next(r for r in report["forces"] if r["force"] == "DUR")
    assert dur["recorded"] == 1


def test_with_the_wall_clock_a_missed_referral_fires_with_no_further_events(
    deployment: Deployment,
) -> None:
    topics = Topics(deployment.prefix)
    duty = "2026-03-28T23:30:00Z"
    deadline = end_of_following_day(micros(duty), LONDON)
    event = recorded(duty, categories=["serious_assault"])
    stream = deployment.folder / "one.jsonl"
    stream.write_text(json.dumps(event) + "\n")
    start = from_micros(deadline - 6_000_000).isoformat()  # the test clock: six seconds before
    deployment.start_worker(
        "w1",
        "--clock",
        "wall",
        "--tick-seconds",
        "0.5",
        "--test-clock-start",
        start,
    )
    deployment.publish(stream)
    deployment.wait_for(valid=1)
    found: list[dict[str, Any]] = []
    until = time.monotonic() + 60
    while not found and time.monotonic() < until:
        found = [json.loads(r.value) for r in read_topic(deployment, topics.findings, timeout=2)]
        found = [f for f in found if f["kind"] == "missed_referral"]
    assert found, "no missed_referral within a minute"
    assert found[0]["detected_at"] == format_utc(deadline) == "2026-03-29T23:00:00Z"
    assert found[0]["case_id"] == "c1"
    alerts = [json.loads(r.value) for r in read_topic(deployment, topics.alerts("DUR"), timeout=2)]
    assert {a["kind"] for a in alerts} == {"missed_referral"}
    assert read_topic(deployment, topics.alerts("MPS"), timeout=1) == []


SIM = [
    "simulate",
    "--days",
    "120",
    "--scale",
    "0.3",
    "--seed",
    "5",
    "--under-refer",
    "DUR",
    "--duplicates",
    "0.01",
    "-q",
]


def test_a_worker_killed_mid_stream_resumes_with_nothing_lost_or_counted_twice(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    lines = stream.read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]))
    second.write_text("".join(lines[len(lines) // 2 :]))
    expected = json.loads(embedded_report(stream))
    total, dupes = expected["events"]["valid"], expected["events"]["duplicate"]
    worker = deployment.start_worker("w1", "--clock", "event")
    deployment.publish(first)
    deployment.wait_for(valid=total // 4)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    deployment.publish(second)  # while no worker runs
    at_kill = deployment.report()["events"]["valid"]
    assert at_kill < total, "the worker saw everything before it was killed: nothing was tested"
    deployment.start_worker("w1", "--clock", "event")
    deployment.wait_for(total, dupes, stream=stream)
    time.sleep(3)  # anything counted twice would show up by now
    assert deployment.report()["events"] == expected["events"]
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)


def test_a_worker_commits_nothing_before_its_changelog_writes_are_on_the_broker(
    deployment: Deployment, tmp_path: Path
) -> None:
    """With changelog writes slow, as on a loaded machine, many are in flight at any moment.

    Under Faust, acking on its flush let the committed offset outrun the case
    changelog, and a kill then lost the events in between (89 of 639 here).
    Killed at any moment, a worker must leave every event below the committed
    offset in the changelog (or, if refused, in the dead letters).
    """
    stream = tmp_path / "events.jsonl"
    sim = ["simulate", "--days", "20", "--scale", "0.1", "--seed", "5", "-q"]
    assert run_cli([*sim, "--output", str(stream)]).status == 0
    lines = stream.read_text().splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:100]))
    rest.write_text("".join(lines[100:]))
    slow = deployment.start_worker("slow", "--clock", "event", module="tests.kafka.slow_sends")
    deployment.publish(first)
    # Some commits first, so that the check below is not vacuous; then the rest, and a
    # kill while its writes are in flight.
    deadline = time.monotonic() + 120
    while sum(deployment.committed_by_force().values()) < 50:
        assert time.monotonic() < deadline, deployment.committed_by_force()
        time.sleep(0.5)
    deployment.publish(rest)
    deployment.wait_for(valid=150)
    time.sleep(1)
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait()
    committed = deployment.committed_by_force()
    assert sum(committed.values()) >= 50, committed  # commits happened: the check is not vacuous
    assert deployment.committed_but_unsaved() == []


def w2_owns(deployment: Deployment) -> list[set[int]]:
    """The by-force partitions w2 was assigned, one set per assignment, from its log."""
    log = (deployment.folder / "w2.log").read_text()
    return [
        set(map(int, re.findall(r"\d+", m))) for m in re.findall(r"partitions \[([\d, ]*)\]", log)
    ]


def until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_partitions_rebalance_as_workers_join_and_leave_and_the_result_is_unchanged(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    lines = stream.read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]))
    second.write_text("".join(lines[len(lines) // 2 :]))
    expected = json.loads(embedded_report(stream))["events"]
    one = deployment.start_worker("w1", "--clock", "event")
    deployment.publish(first)
    deployment.wait_for(valid=expected["valid"] // 4)
    deployment.start_worker("w2", "--clock", "event")
    # The two share the judging once each has heard of the rebalance (a heartbeat or so).
    until(
        lambda: any(0 < len(p) < deployment.partitions for p in w2_owns(deployment)),
        "w2 never shared the partitions",
    )
    deployment.publish(second)
    deployment.wait_for(valid=expected["valid"] * 3 // 4)
    os.killpg(one.pid, signal.SIGTERM)
    one.wait(timeout=60)
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=stream)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
    # w1 is a static member: it hands its partitions over once its session times out.
    until(
        lambda: w2_owns(deployment)[-1] == set(range(deployment.partitions)),
        "w2 did not take over when w1 left",
    )
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
