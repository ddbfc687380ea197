"""The worker in the image, against the tests' Kafka broker on the host.

Each container runs as a deployment runs it: refmon's own user, a read-only root filesystem,
a named state volume, the host's network (to reach the broker on loopback). Topics are made,
events published and reports read from the host with the host's refmon.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.container.conftest import REFMON_UID, STATE, Podman, Topics
from tests.ports import free_ports

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
    "--duplicates",
    "0.02",
    "--disorder-hours",
    "6",
    "-q",
]
# compose's stop_grace_period for the workers (the Helm chart allows 60 s).
GRACE_SECONDS = "30"


@pytest.fixture
def topics(kafka: str) -> Topics:
    made = Topics(kafka)
    made.create()
    return made


@pytest.fixture
def stream(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(path)]).status == 0
    return path


@dataclass(frozen=True)
class Worker:
    name: str
    metrics_port: int


def start_worker(podman: Podman, topics: Topics, volume: str, name: str) -> Worker:
    """A worker container; its metrics port (on the host's network) is one free here."""
    port = free_ports()
    podman(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--volume",
        f"{volume}:{STATE}",
        # The port the health check reads too.
        "--env",
        f"REFMON_METRICS_PORT={port}",
        podman.image,
        "worker",
        *topics.args(),
        "--partitions",
        str(topics.partitions),
        "--clock",
        "event",
    )
    return Worker(name, port)


def embedded(stream: Path) -> tuple[str, dict[str, int]]:
    result = run_cli(["run", "--input", str(stream), "-q"])
    assert result.status == 0, result.stderr
    return result.stdout, json.loads(result.stdout)["events"]


def open_findings(path: Path) -> list[str]:
    return sorted(line for line in path.read_text().splitlines() if '"status":"open"' in line)


def wait_until_healthy(podman: Podman, name: str, timeout: float = 120) -> None:
    """The endpoint comes up a moment after the container starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if podman("healthcheck", "run", name, check=False).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{name} never became healthy\n{podman.logs(name)[-4000:]}")


def test_a_worker_in_a_container_reports_what_run_reports_on_the_same_events(
    podman: Podman, topics: Topics, stream: Path, tmp_path: Path
) -> None:
    volume = podman.volume()
    worker = start_worker(podman, topics, volume, podman.name("worker"))
    topics.publish(stream)
    expected, events = embedded(stream)
    topics.wait_for(events["valid"], events["duplicate"], lambda: podman.logs(worker.name))
    findings = tmp_path / "kafka-findings.jsonl"
    assert topics.report("--findings", str(findings)) == expected
    embedded_findings = tmp_path / "embedded-findings.jsonl"
    result = run_cli(["run", "--input", str(stream), "--findings", str(embedded_findings), "-q"])
    assert result.status == 0
    assert open_findings(findings) == open_findings(embedded_findings)
    assert len(open_findings(findings)) > 20  # the comparison is not vacuous
    # The worker kept its table in the volume, as its own user.
    state = podman.mountpoint(volume) / "state"
    assert any(state.iterdir())
    assert state.stat().st_uid == REFMON_UID


def test_the_health_check_passes_while_the_worker_serves_and_fails_when_nothing_answers(
    podman: Podman, topics: Topics
) -> None:
    worker = start_worker(podman, topics, podman.volume(), podman.name("worker")).name
    wait_until_healthy(podman, worker)
    assert podman.inspect(worker)["State"]["Health"]["Status"] == "healthy"

    # A hung worker: its socket still accepts connections, but nothing answers them.
    podman("kill", "--signal", "STOP", worker)
    hung = podman("healthcheck", "run", worker, check=False)
    assert (hung.returncode, hung.stdout.strip()) == (1, b"unhealthy"), hung.stderr
    log = podman.inspect(worker)["State"]["Health"]["Log"]
    assert "timed out" in log[-1]["Output"]
    podman("kill", "--signal", "CONT", worker)
    wait_until_healthy(podman, worker)

    # No endpoint at all: `refmon run` without --metrics-port, waiting on its input.
    quiet = podman.name("run")
    podman(
        "run",
        "--detach",
        "--interactive",
        "--name",
        quiet,
        "--network",
        "none",
        "--read-only",
        podman.image,
        "run",
        "--input",
        "-",
    )
    refused = podman("healthcheck", "run", quiet, check=False)
    assert (refused.returncode, refused.stdout.strip()) == (1, b"unhealthy"), refused.stderr
    log = podman.inspect(quiet)["State"]["Health"]["Log"]
    assert "Connection refused" in log[-1]["Output"]


def test_podman_stop_ends_the_worker_cleanly_and_a_restart_on_its_volume_loses_nothing(
    podman: Podman, topics: Topics, stream: Path, tmp_path: Path
) -> None:
    lines = stream.read_bytes().splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_bytes(b"".join(lines[: len(lines) // 2]))
    rest.write_bytes(b"".join(lines[len(lines) // 2 :]))
    volume = podman.volume()

    worker = start_worker(podman, topics, volume, podman.name("worker"))
    topics.publish(first)
    expected, events = embedded(first)
    topics.wait_for(events["valid"], events["duplicate"], lambda: podman.logs(worker.name))
    assert topics.report() == expected

    # SIGTERM, then SIGKILL if the worker is still running when the grace period ends.
    stopped = podman("stop", "--time", GRACE_SECONDS, worker.name)
    state = podman.inspect(worker.name)["State"]
    logs = podman.logs(worker.name)
    assert state["Status"] == "exited"
    assert state["ExitCode"] == 0, logs  # 137 after a SIGKILL
    assert b"SIGKILL" not in stopped.stderr
    assert "Traceback" not in logs

    # A new container on the same volume, as after an upgrade; the rest of the events go out
    # at once, while it is still joining and restoring its partitions.
    again = start_worker(podman, topics, volume, podman.name("restarted"))
    topics.publish(rest)
    expected, events = embedded(stream)
    topics.wait_for(events["valid"], events["duplicate"], lambda: podman.logs(again.name))
    assert topics.report() == expected
