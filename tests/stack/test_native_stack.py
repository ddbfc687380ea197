"""Smoke test of deploy/local/stack.sh: the whole topology, natively, end to end.

Kafka, topic creation, two workers, Prometheus with the repository's rules and
Alertmanager with the generated routing; a simulated stream is published, and
the alerts Alertmanager holds must name the forces `refmon run` flags on the
same stream. `--demo` drops the alerts' `for` delays (promtool covers those).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.live.services import get_json
from tests.ports import free_ports

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack.sh"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    base = free_ports(32)  # the block stack.sh uses from its base port
    env = {
        **os.environ,
        "REFMON": str(Path(sys.executable).with_name("refmon")),
        "REFMON_CLOCK": "event",
        "REFMON_TOPIC_PREFIX": f"smoke-{uuid.uuid4().hex[:8]}",
    }
    where = ["--dir", str(tmp_path / "stack"), "--base-port", str(base)]
    up = subprocess.run(
        ["bash", str(STACK), "up", *where, "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield base, env
    finally:
        subprocess.run(["bash", str(STACK), "down", *where], env=env, timeout=300, check=False)


def _alerts(base: int) -> dict[str, set[str]]:
    by_name: dict[str, set[str]] = defaultdict(set)
    for alert in get_json(f"http://127.0.0.1:{base + 30}/api/v2/alerts"):
        labels = alert["labels"]
        by_name[labels["alertname"]].add(labels.get("force", ""))
    return by_name


def test_published_events_end_as_the_expected_alerts_in_alertmanager(
    stack: tuple[int, dict[str, str]], tmp_path: Path
) -> None:
    base, env = stack
    stream = tmp_path / "events.jsonl"
    simulate = ["simulate", "--days", "150", "--scale", "0.4", "--seed", "8"]
    assert run_cli([*simulate, "--under-refer", "DUR:0.8", "-q", "-o", str(stream)]).status == 0
    report: dict[str, Any] = json.loads(run_cli(["run", "--input", str(stream), "-q"]).stdout)
    expected = {
        "RefmonMissedReferral": {
            r["force"] for r in report["forces"] if r["open_findings"]["missed_referral"]
        },
        "RefmonComplianceBelowFunnel95": {
            r["force"] for r in report["forces"] if r["compliance_status"] in {"alert", "alarm"}
        },
        "RefmonComplianceBelowFunnel998": {
            r["force"] for r in report["forces"] if r["compliance_status"] == "alarm"
        },
    }
    assert "DUR" in expected["RefmonComplianceBelowFunnel998"]
    assert len(expected["RefmonMissedReferral"]) >= 5  # many forces, so routing by force matters

    publish = subprocess.run(
        [
            env["REFMON"],
            "publish",
            "--bootstrap-server",
            f"127.0.0.1:{base}",
            "--topic-prefix",
            env["REFMON_TOPIC_PREFIX"],
            "--input",
            str(stream),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert publish.returncode == 0, publish.stderr

    seen: dict[str, set[str]] = {}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        seen = _alerts(base)
        if all(seen.get(name, set()) == forces for name, forces in expected.items()):
            break
        time.sleep(3)
    for name, forces in expected.items():
        assert seen.get(name, set()) == forces, name
    # Both workers are scraped and up: the pipeline's own alerts stay quiet.
    assert "RefmonWorkerDown" not in seen
    assert "RefmonAbsent" not in seen
