"""A worker checks its settings against the cluster at start (issue 21: REFMON_PARTITIONS=3
against topics with 6 partitions started a worker with no warning): a partition count that
differs from the topics' is refused in one line (exit 2), missing topics name `refmon topics
create`, and a worker given no count takes it from the topics."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from tests.factories import recorded
from tests.kafka.conftest import ROOT, Broker, Deployment

GUARD_S = 120.0
"""Only a guard against a hung test."""


def _worker(deployment: Deployment, name: str, *args: str) -> subprocess.Popen[bytes]:
    """Standard error to `name`.log (read by `_stderr`)."""
    log = (deployment.folder / f"{name}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "refmon.cli",
            "worker",
            *args,
            "--data-dir",
            str(deployment.folder / name),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        cwd=ROOT,
    )


def _stderr(deployment: Deployment, name: str) -> str:
    return (deployment.folder / f"{name}.log").read_text()


def test_a_partition_count_that_differs_from_the_topics_refuses_to_start(
    broker: Broker, tmp_path: Path
) -> None:
    deployment = Deployment(broker, f"t{uuid.uuid4().hex[:12]}", tmp_path, partitions=6)
    deployment.create_topics()
    proc = _worker(deployment, "w1", *deployment.args(), "--partitions", "3")
    assert proc.wait(timeout=GUARD_S) == 2
    stderr = _stderr(deployment, "w1")
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "--partitions 3 (or REFMON_PARTITIONS)" in lines[0]
    assert "which have 6 partitions" in lines[0]


def test_missing_topics_refuse_to_start_naming_refmon_topics_create(
    broker: Broker, tmp_path: Path
) -> None:
    deployment = Deployment(broker, f"t{uuid.uuid4().hex[:12]}", tmp_path)  # none created
    proc = _worker(deployment, "w1", *deployment.args())
    assert proc.wait(timeout=GUARD_S) == 2
    stderr = _stderr(deployment, "w1")
    assert "do not exist: create them with `refmon topics create`" in stderr


def test_a_worker_given_no_count_takes_it_from_the_topics_and_judges(
    broker: Broker, tmp_path: Path
) -> None:
    deployment = Deployment(broker, f"t{uuid.uuid4().hex[:12]}", tmp_path, partitions=4)
    deployment.create_topics()
    stream = tmp_path / "events.jsonl"
    forces = ["DUR", "MPS", "LINCS", "NBR", "SUS"]
    stream.write_text(
        "".join(
            json.dumps(recorded("2026-09-01T10:00:00Z", case=f"c{n}", force=force)) + "\n"
            for n, force in enumerate(forces)
        )
    )
    proc = _worker(deployment, "w1", *deployment.args(), "--clock", "event")
    try:
        deployment.publish(stream)
        report = deployment.wait_for(valid=len(forces), timeout=GUARD_S)
        assert report["events"]["valid"] == len(forces)
    finally:
        proc.terminate()
        proc.wait(timeout=GUARD_S)
