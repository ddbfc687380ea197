"""The worker as an operator meets it: skipped records, a folder in use, stopping, dead letters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaProducer
from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli
from tests.factories import recorded
from tests.kafka.conftest import ROOT, Deployment
from tests.kafka.test_worker import embedded_report, read_topic

SIM = ["simulate", "--days", "40", "--scale", "0.3", "--seed", "9", "--duplicates", "0.01", "-q"]


def test_records_the_consumer_skips_are_fetched_again_and_the_report_is_exact(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    expected = json.loads(embedded_report(stream))["events"]
    topics = Topics(deployment.prefix)
    deployment.start_worker(
        "w1",
        "--clock",
        "event",
        "--test-drop",
        # An input topic: by-force is written in transactions, whose offsets have gaps by
        # design (commit markers), so the gap check guards the inputs (docs/kafka.md).
        f"{topics.input('WYP')}:0:3-7",
        module="tests.kafka.dropping",
    )
    deployment.publish(stream)
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=stream)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
    log = (deployment.folder / "w1.log").read_text()
    assert f"{topics.input('WYP')}[0]: offsets 3 to 7 never reached the worker; fetched 5" in log


def test_a_second_worker_on_a_data_folder_in_use_exits_with_one_line(
    deployment: Deployment,
) -> None:
    deployment.start_worker("w1", "--clock", "event")
    folder = deployment.folder / "w1"
    deadline = time.monotonic() + 30
    while not (folder / "worker.lock").exists():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "refmon.cli",
            "worker",
            *deployment.args(),
            "--data-dir",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"refmon: error: --data-dir {folder} is in use by another worker")
    assert "Traceback" not in second.stderr


def test_sigterm_stops_a_busy_worker_within_ten_seconds_and_a_restart_loses_nothing(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    expected = json.loads(embedded_report(stream))["events"]
    worker = deployment.start_worker("w1", "--clock", "event")
    deployment.publish(stream)
    deployment.wait_for(valid=expected["valid"] // 3)
    os.killpg(worker.pid, signal.SIGTERM)
    # A behaviour, not a speed: Kubernetes' and compose's grace periods are 30 s.
    assert worker.wait(timeout=10) == 0
    deployment.start_worker("w1", "--clock", "event")
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=stream)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)


def test_a_bad_message_is_the_same_dead_letter_on_both_runners(
    deployment: Deployment, tmp_path: Path
) -> None:
    bad = (
        '{"schema_version":1,"event_id":"é-1","event_type":"case.closed","force":"DUR",'
        '"case_id":"Ünïcödé","occurred_at":"2026-02-02T10:00:00Z","payload":{}}'
    ).encode()
    lines = tmp_path / "bad.jsonl"
    lines.write_bytes(bad + b"\n")
    letters = tmp_path / "dead.jsonl"
    assert run_cli(["run", "--input", str(lines), "--dead-letter", str(letters), "-q"]).status == 0
    embedded = json.loads(letters.read_text(encoding="utf-8"))
    topics = Topics(deployment.prefix)
    producer = KafkaProducer(bootstrap_servers=deployment.broker.bootstrap, acks="all")
    producer.send(topics.input("DUR"), key=b"k", value=bad).get(timeout=30)
    producer.close()
    deployment.start_worker("w1", "--clock", "event")
    deadline = time.monotonic() + 60
    records: list[object] = []
    while not records and time.monotonic() < deadline:
        records = read_topic(deployment, topics.dead_letter, timeout=2)
    [record] = records
    on_kafka = json.loads(record.value)  # type: ignore[attr-defined]
    where = {"line", "topic", "partition", "offset"}
    assert {k: v for k, v in on_kafka.items() if k not in where} == {
        k: v for k, v in embedded.items() if k not in where
    }
    assert embedded["reason"] == "invalid_value"
    # Byte for byte, but for where the input was: the same encoder writes both.
    tail = record.value.split(b',"reason"', 1)[1]  # type: ignore[attr-defined]
    assert letters.read_bytes().rstrip(b"\n").split(b',"reason"', 1)[1] == tail


def test_publish_keeps_the_lines_it_does_not_send_as_refmon_run_does(
    deployment: Deployment, tmp_path: Path
) -> None:
    good = json.dumps(recorded("2026-02-02T10:00:00Z")).encode()
    future = json.dumps(recorded("2999-01-01T00:00:00Z", case="later")).encode()
    lines = tmp_path / "mixed.jsonl"
    lines.write_bytes(b"\n".join([good, b"{not json", future]) + b"\n")
    published = tmp_path / "publish-dead.jsonl"
    result = run_cli(
        ["publish", "--input", str(lines), "--dead-letter", str(published), *deployment.args()]
    )
    assert result.status == 1  # not every line was delivered
    assert "published 1 event(s)" in result.stderr
    embedded = tmp_path / "run-dead.jsonl"
    assert run_cli(["run", "--input", str(lines), "--dead-letter", str(embedded), "-q"]).status == 0
    ours, theirs = published.read_bytes().splitlines(), embedded.read_bytes().splitlines()
    assert ours[0] == theirs[0]  # the same encoder: byte for byte
    # The future-timestamp message names the moment each command read its input.
    assert [json.loads(x) | {"message": ""} for x in ours] == [
        json.loads(x) | {"message": ""} for x in theirs
    ]
    assert [json.loads(x)["reason"] for x in ours] == ["not_json", "future_timestamp"]
