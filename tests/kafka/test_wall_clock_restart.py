"""On the wall clock, a worker killed and started again announces nothing twice (issue 22).

A live worker's clock is the wall clock: deadlines that pass with no new event open
findings at a tick. Those findings are in no changelog record; a restart must not
open them again as if for the first time."""

from __future__ import annotations

import os
import signal
import time
from datetime import date, timedelta
from pathlib import Path

from tests.cli import run_cli
from tests.kafka.conftest import Deployment
from tests.kafka.repeats import read_outputs


def settled_outputs(deployment: Deployment, quiet: float = 6.0) -> int:
    """The number of output messages once it has stopped changing for `quiet` seconds."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + 120
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "outputs never settled"
        now = read_outputs(deployment.broker.bootstrap, deployment.prefix).messages
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(1)
    return last


def restored(deployment: Deployment, name: str) -> None:
    """Wait until the worker has restored every by-force partition."""
    deadline = time.monotonic() + 90
    while True:
        log = (deployment.folder / f"{name}.log").read_text(errors="replace")
        if log.count(f"restored {deployment.prefix}.by-force[") >= deployment.partitions:
            return
        assert time.monotonic() < deadline, log[-3000:]
        time.sleep(0.5)


def test_a_restart_on_the_wall_clock_announces_no_finding_twice(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    start = (date.today() - timedelta(days=60)).isoformat()
    sim = ["simulate", "--start", start, "--days", "50", "--scale", "0.05", "--seed", "4"]
    assert run_cli([*sim, "-q", "--output", str(stream)]).status == 0
    worker = deployment.start_worker("w1", "--clock", "wall")
    deployment.publish(stream)
    before = settled_outputs(deployment)
    assert before > 0
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    deployment.start_worker("w1", "--clock", "wall")  # its snapshots, if it wrote any
    restored(deployment, "w1")
    after = settled_outputs(deployment)
    outputs = read_outputs(deployment.broker.bootstrap, deployment.prefix)
    assert outputs.repeats == {"findings": 0, "alerts": 0}, (before, after)

    os.killpg(deployment.workers[-1].pid, signal.SIGKILL)
    deployment.workers[-1].wait()
    deployment.start_worker("w2", "--clock", "wall")  # a new folder: the whole changelog
    restored(deployment, "w2")
    settled_outputs(deployment)
    outputs = read_outputs(deployment.broker.bootstrap, deployment.prefix)
    assert outputs.repeats == {"findings": 0, "alerts": 0}, (before, after)
