"""refmon's image, built and run with Debian's podman as ops staff would run it.

The session builds the image with scripts/image-test.sh (local Debian base, no network;
cached layers make it quick when CI has just built it). Nothing here skips: a machine
where podman cannot build or run the image fails these tests, with podman's error.
Every container and volume a test makes is removed when it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
IMAGE_TEST = ROOT / "scripts" / "image-test.sh"
KAFKA_SH = ROOT / "deploy" / "kafka-local" / "kafka.sh"
# The state volume, where the image keeps refmon's data (its VOLUME).
STATE = "/var/lib/refmon"
# The image runs refmon as this user, never as root.
REFMON_UID = 10001


@dataclass(frozen=True)
class Built:
    image: str
    base: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def built() -> Built:
    result = subprocess.run(
        ["bash", str(IMAGE_TEST)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"the image did not build:\n{result.stderr[-6000:]}"
    out = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return Built(
        out["IMAGE"], out["BASE"], {**os.environ, "CONTAINERS_CONF": out["CONTAINERS_CONF"]}
    )


@dataclass
class Podman:
    """podman with this machine's settings; remembers what it made, to remove it."""

    built: Built
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    @property
    def image(self) -> str:
        return self.built.image

    def command(self, *args: str) -> list[str]:
        return ["podman", *args]

    def __call__(
        self, *args: str, stdin: bytes | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            self.command(*args),
            input=stdin,
            capture_output=True,
            env=self.built.env,
            timeout=timeout,
            check=False,
        )
        if check:
            assert result.returncode == 0, (
                f"podman {' '.join(args)}: exit {result.returncode}\n"
                + result.stderr.decode(errors="replace")[-4000:]
            )
        return result

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(*args), env=self.built.env, **kwargs)

    def name(self, what: str) -> str:
        """A container name of this test's own, removed at its end."""
        name = f"refmon-test-{what}-{uuid.uuid4().hex[:8]}"
        self.containers.append(name)
        return name

    def volume(self) -> str:
        """A new named volume: podman fills it from the image, so it belongs to refmon's user."""
        name = f"refmon-test-{uuid.uuid4().hex[:8]}"
        self.volumes.append(name)
        self("volume", "create", name)
        return name

    def mountpoint(self, volume: str) -> Path:
        return Path(
            self("volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout.decode().strip()
        )

    def inspect(self, container: str) -> dict[str, Any]:
        return dict(json.loads(self("inspect", container).stdout)[0])

    def logs(self, container: str) -> str:
        result = self("logs", container, check=False)
        return (result.stdout + result.stderr).decode(errors="replace")

    def remove_all(self) -> None:
        for name in self.containers:
            self("rm", "--force", "--volumes", "--time", "0", name, check=False)
        for volume in self.volumes:
            self("volume", "rm", "--force", volume, check=False)


@pytest.fixture
def podman(built: Built) -> Iterator[Podman]:
    made = Podman(built)
    try:
        yield made
    finally:
        made.remove_all()


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real broker on the host's loopback, which containers reach with --network host."""
    given = os.environ.get("REFMON_TEST_KAFKA_DIR")
    if given:  # CI may start one broker for the whole run
        yield Path(given, "bootstrap").read_text().split()[0]
        return
    folder = tmp_path_factory.mktemp("kafka")
    out = subprocess.run(
        ["bash", str(KAFKA_SH), "start", "--port", str(free_ports(2)), "--dir", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        yield out.stdout.split()[0]
    finally:
        subprocess.run(
            ["bash", str(KAFKA_SH), "stop", "--dir", str(folder)], check=False, timeout=120
        )


@dataclass(frozen=True)
class Topics:
    """One test's topics on the broker, through the host's refmon CLI, as ops would."""

    bootstrap: str
    prefix: str = field(default_factory=lambda: f"c{uuid.uuid4().hex[:12]}")
    partitions: int = 3

    def args(self) -> list[str]:
        return ["--bootstrap-server", self.bootstrap, "--topic-prefix", self.prefix]

    def create(self) -> None:
        result = run_cli(["topics", "create", *self.args(), "--partitions", str(self.partitions)])
        assert result.status == 0, result.stderr

    def publish(self, path: Path) -> None:
        result = run_cli(["publish", "--input", str(path), "-q", *self.args()])
        assert result.status == 0, result.stderr

    def report(self, *extra: str) -> str:
        result = run_cli(["report", *self.args(), *extra])
        assert result.status == 0, result.stderr
        return result.stdout

    def wait_for(
        self, valid: int, duplicate: int, diagnose: Callable[[], str], timeout: float = 240
    ) -> None:
        """Until the workers have judged `valid` distinct events and `duplicate` repeats."""
        deadline = time.monotonic() + timeout
        events: dict[str, int] = {}
        while time.monotonic() < deadline:
            events = json.loads(self.report())["events"]
            if events["valid"] >= valid and events["duplicate"] >= duplicate:
                return
            time.sleep(1)
        raise AssertionError(f"the worker did not catch up: {events}\n{diagnose()[-4000:]}")
