"""Where the metrics endpoint listens (issue 9 item 6): loopback unless told otherwise."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import pytest
import yaml

from refmon.cli import build_parser
from refmon.commands import healthcheck
from tests.cli import Result, run_cli

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="all of 127/8 reaches a wildcard socket only on Linux"
)


def serve(*args: str) -> Result:
    return run_cli(["run", "--input", "-", "--metrics-port", "0", "--report", "/dev/null", *args])


def endpoint(result: Result) -> tuple[str, int]:
    found = re.search(r"refmon: metrics on http://(\[[^]]+\]|[^:/]+):(\d+)/metrics", result.stderr)
    assert found is not None, result.stderr
    return found.group(1), int(found.group(2))


def accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


@linux_only
def test_run_serves_metrics_on_loopback_only_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFMON_METRICS_ADDRESS", raising=False)
    result = serve()
    assert result.status == 0
    host, port = endpoint(result)
    assert host == "127.0.0.1"
    assert accepts("127.0.0.1", port)
    # 127.0.0.2 reaches a socket bound to every interface, not one bound to 127.0.0.1.
    assert not accepts("127.0.0.2", port)


@linux_only
def test_the_metrics_address_flag_chooses_the_interface_and_the_banner_says_which(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REFMON_METRICS_ADDRESS", raising=False)
    host, port = endpoint(serve("--metrics-address", "0.0.0.0"))
    assert host == "0.0.0.0"
    assert accepts("127.0.0.2", port)


def test_the_environment_chooses_the_address_and_the_flag_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFMON_METRICS_ADDRESS", "127.0.0.3")
    assert endpoint(serve())[0] == "127.0.0.3"
    assert endpoint(serve("--metrics-address", "127.0.0.1"))[0] == "127.0.0.1"


def test_an_ipv6_address_is_printed_in_brackets() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    host, port = endpoint(serve("--metrics-address", "::1"))
    assert host == "[::1]"
    assert accepts("::1", port)


@pytest.mark.parametrize("address", ["192.0.2.1", "2001:db8::1"])  # documentation addresses
def test_an_address_that_cannot_be_bound_is_an_unusable_argument(address: str) -> None:
    result = serve("--metrics-address", address)
    assert result.status == 2
    assert result.stderr.startswith("refmon: error: cannot serve metrics on ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("environment", "expected"),
    [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("::", "::"), ("", "127.0.0.1")],
)
def test_the_worker_listens_on_loopback_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, environment: str | None, expected: str
) -> None:
    if environment is None:
        monkeypatch.delenv("REFMON_METRICS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("REFMON_METRICS_ADDRESS", environment)
    assert build_parser().parse_args(["worker"]).metrics_address == expected
    assert build_parser().parse_args(["run", "--input", "-"]).metrics_address == expected


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        (None, "http://127.0.0.1:9464/metrics"),
        ("0.0.0.0", "http://127.0.0.1:9464/metrics"),
        ("::", "http://[::1]:9464/metrics"),
        ("10.1.2.3", "http://10.1.2.3:9464/metrics"),
        ("fd00::7", "http://[fd00::7]:9464/metrics"),
    ],
)
def test_healthcheck_probes_where_the_endpoint_listens(
    monkeypatch: pytest.MonkeyPatch, environment: str | None, url: str
) -> None:
    monkeypatch.delenv("REFMON_METRICS_PORT", raising=False)
    if environment is None:
        monkeypatch.delenv("REFMON_METRICS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("REFMON_METRICS_ADDRESS", environment)
    ready = url.replace("/metrics", "/readyz")
    assert healthcheck.target(build_parser().parse_args(["healthcheck"])) == ready
    live = healthcheck.target(build_parser().parse_args(["healthcheck", "--live"]))
    assert live == url.replace("/metrics", "/healthz")


def test_the_image_chart_and_compose_stack_listen_on_every_interface_for_their_scrapers() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^ENV REFMON_METRICS_ADDRESS=0\.0\.0\.0$", dockerfile, re.MULTILINE)
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    worker = compose["x-worker"]["environment"]
    assert worker["REFMON_METRICS_ADDRESS"] == "0.0.0.0"
    chart = (ROOT / "deploy" / "helm" / "refmon" / "templates" / "statefulset.yaml").read_text()
    assert re.search(r"- name: REFMON_METRICS_ADDRESS\n\s+value: \"0\.0\.0\.0\"", chart)
