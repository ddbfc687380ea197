"""Real Apache Kafka for the tests: started by deploy/kafka-local/kafka.sh, never mocked.

One broker per test session (with its SASL_SSL listener); each test gets topics
and a consumer group of its own through a unique topic prefix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.kafka.diagnose import committed_but_unsaved, committed_by_force, explain_missing
from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "kafka-local" / "kafka.sh"


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    sasl_bootstrap: str
    ca_file: str


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    given = os.environ.get("REFMON_TEST_KAFKA_DIR")
    if given:  # CI may start one broker for the whole run
        lines = Path(given, "bootstrap").read_text().split()
        yield Broker(lines[0], lines[1], str(Path(given, "tls", "ca.pem")))
        return
    # Not made beforehand: kafka.sh must create its state directory private itself.
    folder = tmp_path_factory.mktemp("kafka") / "state"
    base = free_ports(3)  # PLAINTEXT, controller, SASL_SSL
    out = subprocess.run(
        ["bash", str(KAFKA_SH), "start", "--sasl", "--port", str(base), "--dir", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    plain, sasl = out.stdout.split()[:2]
    try:
        yield Broker(plain, sasl, str(folder / "tls" / "ca.pem"))
    finally:
        subprocess.run(
            ["bash", str(KAFKA_SH), "stop", "--dir", str(folder)], check=False, timeout=120
        )


@dataclass
class Deployment:
    """One test's refmon topics on the shared broker, and the workers it started."""

    broker: Broker
    prefix: str
    folder: Path
    partitions: int = 3
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def args(self) -> list[str]:
        return ["--bootstrap-server", self.broker.bootstrap, "--topic-prefix", self.prefix]

    def create_topics(self) -> None:
        result = run_cli(["topics", "create", *self.args(), "--partitions", str(self.partitions)])
        assert result.status == 0, result.stderr

    def publish(self, path: Path) -> None:
        result = run_cli(["publish", "--input", str(path), "-q", *self.args()])
        assert result.status == 0, result.stderr

    def start_worker(
        self, name: str, *extra: str, module: str = "refmon.cli"
    ) -> subprocess.Popen[bytes]:
        """`module` runs the CLI; tests.kafka.slow_sends runs it with changelog writes slowed."""
        log = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "worker",
                *self.args(),
                "--partitions",
                str(self.partitions),
                "--data-dir",
                str(self.folder / name),
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,  # where `-m tests.kafka...` resolves
        )
        self.workers.append(proc)
        return proc

    def report(self, *extra: str) -> dict[str, Any]:
        result = run_cli(["report", *self.args(), *extra])
        assert result.status == 0, result.stderr
        return dict(json.loads(result.stdout))

    def wait_for(
        self,
        valid: int,
        duplicate: int | None = None,
        timeout: float = 180,
        stream: Path | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        report: dict[str, Any] = {}
        while time.monotonic() < deadline:
            report = self.report()
            events = report["events"]
            if events["valid"] >= valid and (duplicate is None or events["duplicate"] >= duplicate):
                return report
            time.sleep(1)
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in self.folder.glob("*.log"))
        where = "" if stream is None else self.explain(stream)
        raise AssertionError(f"workers did not catch up: {report.get('events')}\n{where}\n{logs}")

    def committed_by_force(self) -> dict[int, int]:
        return committed_by_force(self.broker.bootstrap, self.prefix)

    def committed_but_unsaved(self) -> list[tuple[int, int]]:
        return committed_but_unsaved(self.broker.bootstrap, self.prefix)

    def explain(self, stream: Path) -> str:
        return explain_missing(self.broker.bootstrap, self.prefix, stream)

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def deployment(broker: Broker, tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(broker, f"t{uuid.uuid4().hex[:12]}", tmp_path)
    deployment.create_topics()
    try:
        yield deployment
    finally:
        deployment.stop_all()
