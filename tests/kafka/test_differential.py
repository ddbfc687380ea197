"""The Kafka path and the embedded runner judge the same events the same way."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli
from tests.kafka.conftest import Deployment

SIM = [
    "simulate",
    "--days",
    "60",
    "--scale",
    "0.25",
    "--seed",
    "11",
    "--under-refer",
    "DUR,LINCS",
    # A deterioration finding and returned shares to compare (issue 11).
    "--deteriorate",
    "MPS:2025-01-15:0.5",
    "--over-refer",
    "NOTTS:0.3",
    "--duplicates",
    "0.02",
    "--disorder-hours",
    "6",
    "-q",
]


def embedded(stream: Path, tmp_path: Path) -> tuple[dict[str, object], list[str]]:
    findings = tmp_path / "embedded-findings.jsonl"
    result = run_cli(["run", "--input", str(stream), "--findings", str(findings), "-q"])
    assert result.status == 0
    return json.loads(result.stdout), open_findings(findings)


def open_findings(path: Path) -> list[str]:
    return sorted(line for line in path.read_text().splitlines() if '"status":"open"' in line)


def test_publish_and_worker_give_the_embedded_report_and_open_findings(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    expected, expected_open = embedded(stream, tmp_path)
    deployment.start_worker("w1", "--clock", "event", "--store", "rocksdb")
    deployment.publish(stream)
    events = expected["events"]
    assert isinstance(events, dict)
    deployment.wait_for(events["valid"], events["duplicate"], stream=stream)
    findings = tmp_path / "kafka-findings.jsonl"
    result = run_cli(["report", *deployment.args(), "--findings", str(findings)])
    assert result.stdout == run_cli(["run", "--input", str(stream), "-q"]).stdout
    assert open_findings(findings) == expected_open
    assert len(expected_open) > 20  # the comparison is not vacuous
    assert any('"kind":"deterioration"' in line for line in expected_open)
