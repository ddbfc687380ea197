"""Recovery bounded by the window: old cases leave the changelog, and nothing else changes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.state import (
    LATE_DUPLICATES,
    RETIRED_SUFFIX,
    Folded,
    decode_folded,
    decode_late,
)
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Source
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
    (a case's deliveries still there beside its folded record, mid-way through a retiring
    pass, are not live)."""
    topic = Topics(deployment.prefix).cases_changelog
    latest = read_to_end(KafkaSettings(deployment.broker.bootstrap), topic)
    folded = [
        decode_folded(v) for k, v in latest.items() if k.endswith(RETIRED_SUFFIX) and v is not None
    ]
    gone = {f"{f.retired.force}/{f.retired.case_id}@".encode() for f in folded}
    late = decode_late(latest[LATE_DUPLICATES] or b"") if latest.get(LATE_DUPLICATES) else []
    live = [
        k
        for k, v in latest.items()
        if v is not None
        and not k.endswith(RETIRED_SUFFIX)
        and k != LATE_DUPLICATES
        and k.partition(b"@")[0] + b"@" not in gone
    ]
    return live, folded, late


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
