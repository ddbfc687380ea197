"""A worker on the wall clock and `refmon report` agree by default (issue 21: the worker's
metrics counted 32 open missed referrals while `refmon report` counted 15 unless given
--as-of): the report is as of the time the workers' counts are as of."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.cli import run_cli
from tests.factories import recorded
from tests.kafka.conftest import Broker, Deployment
from tests.ports import free_ports

SERIOUS = {"categories": ["serious_assault"]}
WALL_START = "2026-11-01T12:00:00Z"
"""The worker's test wall clock: a month after the events, far from any deadline."""
GUARD_S = 180.0
"""Only a guard against a hung test."""


def _metrics(port: int) -> dict[str, float]:
    """Open missed referrals (all forces), events applied, and the clock, from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    seen = {"missed": 0.0, "events": 0.0, "clock": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "refmon_findings_open" and sample.labels["kind"] == "missed_referral":
                seen["missed"] += sample.value
            elif sample.name == "refmon_events_total":
                seen["events"] += sample.value
            elif sample.name == "refmon_clock_seconds":
                seen["clock"] = sample.value
    return seen


def _open_missed(findings: Path) -> int:
    rows = [json.loads(line) for line in findings.read_text().splitlines()]
    return sum(1 for r in rows if r["kind"] == "missed_referral" and r["status"] == "open")


def test_the_wall_clock_workers_metrics_and_report_count_the_same_open_missed_referrals(
    broker: Broker, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    # One case missed already at event time; one recorded on the last day, whose deadline
    # (the end of the following day) passes in wall time but not in event time.
    events = [
        recorded("2026-09-01T10:00:00Z", case="early", **SERIOUS),
        recorded("2026-10-02T10:00:00Z", case="late", **SERIOUS),
    ]
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    event_time = tmp_path / "event-time-findings.jsonl"
    assert run_cli(["run", "--input", str(stream), "--findings", str(event_time), "-q"]).status == 0
    assert _open_missed(event_time) == 1  # by event time alone, the late case is not due yet

    deployment = Deployment(broker, f"t{uuid.uuid4().hex[:12]}", tmp_path, partitions=2)
    deployment.create_topics()
    port = free_ports(1)
    try:
        deployment.start_worker(
            "w1",
            "--clock",
            "wall",
            "--metrics-port",
            str(port),
            "--test-clock-start",
            WALL_START,
            "--stats-seconds",
            "1",
        )
        deployment.publish(stream)
        deployment.wait_for(valid=2)
        wall = datetime.fromisoformat(WALL_START).timestamp()
        deadline = time.monotonic() + GUARD_S
        seen = {"events": 0.0, "clock": 0.0}
        while time.monotonic() < deadline and (seen["events"] < 2 or seen["clock"] < wall):
            time.sleep(0.5)
            try:
                seen = _metrics(port)
            except OSError:
                continue  # the endpoint is not up yet
        assert seen["events"] == 2, seen
        assert seen["clock"] >= wall, seen

        findings = tmp_path / "report-findings.jsonl"
        report = run_cli(["report", *deployment.args(), "--findings", str(findings)])
        assert report.status == 0, report.stderr
        assert seen["missed"] == 2
        assert _open_missed(findings) == seen["missed"]
        assert json.loads(report.stdout)["as_of"] >= WALL_START
    finally:
        deployment.stop_all()
