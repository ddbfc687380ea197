"""The compose stack (deploy/compose.yaml) brought up with podman-compose, as a laptop runs it.

refmon's image is the session's (scripts/image-test.sh); Kafka, Prometheus and Alertmanager
are local stand-ins (scripts/compose-test.sh builds them: no image registry is reachable),
chosen through the image settings of deploy/.env.example. Grafana is left out: it has no
Debian package to make a stand-in from. The stack keeps compose's own bridge network, names
and ports; the test publishes from the host through Kafka's loopback port, as
docs/deploying.md tells users to, compares the report with `refmon run`'s, checks what
Prometheus scrapes, loads and alerts to, and takes the stack down (volumes too) however it
ends.

Debian's podman is 4.3, and podman-compose cannot order the stack on it: it ignores
`condition: service_healthy` before podman 4.6 (and without systemd nothing runs the health
checks on a schedule), and the `--requires` it gives each container for `depends_on` makes
podman 4.3 refuse to start a worker once the topics job has ended ("generating dependency
graph ... not found in input list"). So the test does what compose's depends_on does, with
`up --no-deps` one step at a time: Kafka and Alertmanager; their health checks run until
they pass (`podman healthcheck run`); the topics job, to its end; then Prometheus and the
workers, until healthy.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli import run_cli
from tests.container.conftest import ROOT, Built, Topics
from tests.ports import free_ports

DEPLOY = ROOT / "deploy"
COMPOSE_TEST = ROOT / "scripts" / "compose-test.sh"
# A day of cases with some repeats and late arrivals, as the worker tests publish.
SIM = ["simulate", "--days", "1", "--seed", "11", "--duplicates", "0.02", "--disorder-hours", "6"]
# compose's services in the order of their depends_on (Grafana excluded: see above).
FIRST = ["kafka", "alertmanager"]
LAST = ["prometheus", "worker-1", "worker-2"]
WORKERS = ["worker-1", "worker-2"]


@pytest.fixture(scope="module")
def standins(built: Built) -> dict[str, str]:
    result = subprocess.run(
        ["bash", str(COMPOSE_TEST)],
        env=built.env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"the stand-ins did not build:\n{result.stderr[-6000:]}"
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def settings(example: str, values: dict[str, str]) -> str:
    """deploy/.env.example with some of its values replaced (each must be there)."""
    lines = example.splitlines()
    for key, value in values.items():
        at = [i for i, line in enumerate(lines) if line.startswith(f"{key}=")]
        assert len(at) == 1, f"{key} is not a setting of .env.example"
        lines[at[0]] = f"{key}={value}"
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Stack:
    """One compose project of this test's own, through podman-compose and podman."""

    project: str
    env_file: Path
    env: dict[str, str]
    kafka_port: int
    prometheus_port: int

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "podman_compose",
            "--project-name",
            self.project,
            "--env-file",
            str(self.env_file),
            "--file",
            str(DEPLOY / "compose.yaml"),
            *args,
        ]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def up(self, *services: str) -> None:
        """Creates and starts these services only: the test orders them (see above)."""
        result = self.compose("up", "--detach", "--no-deps", *services)
        assert result.returncode == 0, f"up {services}: {result.stderr[-4000:]}\n{self.logs()}"

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def container(self, service: str) -> str:
        names = self.podman(
            "ps",
            "--all",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            "--format",
            "{{.Names}}",
        ).stdout.split()
        assert len(names) == 1, f"{service}: containers {names}"
        return names[0]

    def wait_healthy(self, services: list[str], timeout: float = 300) -> None:
        """Runs each service's health check, as the engine's timer would, until it passes."""
        waiting = list(services)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            waiting = [
                service
                for service in waiting
                if self.podman("healthcheck", "run", self.container(service)).returncode != 0
            ]
            if waiting:
                time.sleep(2)
        assert not waiting, f"never healthy: {waiting}\n{self.logs()}"

    def run_to_end(self, service: str, timeout: float = 180) -> int:
        """The exit status of a one-shot service, once it has ended."""
        ended = self.podman("wait", self.container(service), timeout=timeout)
        assert ended.returncode == 0, ended.stderr
        return int(ended.stdout.strip())

    def project_containers(self) -> list[str]:
        return self.podman(
            "ps",
            "--all",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            "{{.Names}}",
        ).stdout.split()

    def anonymous_volumes(self) -> list[str]:
        """Volumes the image's VOLUME gave a container without one of compose's (the topics
        job's /var/lib/refmon): `down --volumes` removes only the named ones."""
        names = self.project_containers()
        if not names:
            return []
        mounts = json.loads(self.podman("inspect", *names).stdout)
        named = f"{self.project}_"
        return [
            m["Name"]
            for c in mounts
            for m in c["Mounts"]
            if m["Type"] == "volume" and not m["Name"].startswith(named)
        ]

    def logs(self) -> str:
        result = self.compose("logs", "--tail", "40", timeout=120)
        return (result.stdout + result.stderr)[-8000:]

    def prometheus(self, what: str) -> dict[str, Any]:
        """The data of one of Prometheus's API answers, from its port on the host."""
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/{what}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(json.load(response)["data"])

    def targets(self) -> list[dict[str, Any]]:
        return list(self.prometheus("targets")["activeTargets"])

    def scraped(self) -> set[str]:
        """The targets Prometheus's last scrape found up."""
        return {t["labels"]["instance"] for t in self.targets() if t["health"] == "up"}


@pytest.fixture
def stack(built: Built, standins: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    kafka_port, prometheus_port, alertmanager_port, grafana_port = (free_ports() for _ in range(4))
    password = tmp_path / "grafana-admin-password"
    password.write_text(secrets.token_urlsafe(18))
    env_file = tmp_path / "compose.env"
    env_file.write_text(
        settings(
            (DEPLOY / ".env.example").read_text(),
            {
                **standins,
                "REFMON_IMAGE": built.image.removeprefix("sha256:"),
                "GRAFANA_ADMIN_PASSWORD_FILE": str(password),
                # A replay: time moves with the events, as in `refmon run`.
                "REFMON_CLOCK": "event",
                "REFMON_PARTITIONS": "3",
                "KAFKA_EXTERNAL_PORT": str(kafka_port),
                "PROMETHEUS_PORT": str(prometheus_port),
                "ALERTMANAGER_PORT": str(alertmanager_port),
                "GRAFANA_PORT": str(grafana_port),
            },
        )
    )
    # The file decides: compose lets the environment override it, so none of its settings
    # is left in the environment.
    keys = {line.split("=", 1)[0] for line in env_file.read_text().splitlines() if "=" in line}
    env = {k: v for k, v in built.env.items() if k not in keys}
    made = Stack(f"refmon-test-{uuid.uuid4().hex[:8]}", env_file, env, kafka_port, prometheus_port)
    try:
        yield made
    finally:
        anonymous = made.anonymous_volumes()
        down = made.compose("down", "--volumes", "--timeout", "30")
        for volume in anonymous:
            made.podman("volume", "rm", "--force", volume)
        assert down.returncode == 0, down.stderr[-4000:]
        assert made.project_containers() == []


def test_the_compose_stack_reports_what_run_reports_and_prometheus_scrapes_both_workers(
    stack: Stack, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "-q", "--output", str(stream)]).status == 0
    expected = run_cli(["run", "--input", str(stream), "-q"])
    assert expected.status == 0, expected.stderr
    events = json.loads(expected.stdout)["events"]

    # How long each step took, printed for `pytest -s` (figures, not assertions).
    started = time.monotonic()
    steps: list[str] = []

    def step(name: str) -> None:
        steps.append(f"{name} {time.monotonic() - started:.0f} s")

    stack.up(*FIRST)
    stack.wait_healthy(FIRST)
    step("kafka and alertmanager healthy")
    stack.up("topics")
    assert stack.run_to_end("topics") == 0, stack.logs()
    step("topics made")
    stack.up(*LAST)
    stack.wait_healthy(LAST)
    step("prometheus and workers healthy")

    # From the host, as docs/deploying.md says: Kafka's port on 127.0.0.1.
    kafka = Topics(f"localhost:{stack.kafka_port}", prefix="refmon", partitions=3)
    kafka.publish(stream)
    kafka.wait_for(events["valid"], events["duplicate"], stack.logs)
    assert kafka.report() == expected.stdout
    assert events["valid"] > 100  # the comparison is not vacuous
    step("report read back")

    # Prometheus scrapes both workers by their compose names (every 15 s).
    deadline = time.monotonic() + 90
    workers = {f"{worker}:9464" for worker in WORKERS}
    while stack.scraped() != workers and time.monotonic() < deadline:
        time.sleep(3)
    assert stack.scraped() == workers, stack.targets()
    step("both workers scraped")

    # The repository's rules loaded, and alerts go to the stack's Alertmanager, by name.
    groups = {
        group["name"]
        for rules in ("rules.yml", "alerts.yml")
        for group in yaml.safe_load((DEPLOY / "prometheus" / rules).read_text())["groups"]
    }
    assert {group["name"] for group in stack.prometheus("rules")["groups"]} == groups
    alertmanagers = stack.prometheus("alertmanagers")["activeAlertmanagers"]
    assert [a["url"].split("/api/")[0] for a in alertmanagers] == ["http://alertmanager:9093"]
    print("compose stack:", ", ".join(steps))
