"""Cross-force statistics come from every force's counts, whichever worker holds them."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

from tests.cli import run_cli
from tests.kafka.conftest import Deployment

Z = re.compile(r'^refmon_force_compliance_zscore\{force="(\w+)"\} (\S+)$', re.MULTILINE)


def scrape(log: Path) -> dict[str, float]:
    port = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace"))
    assert port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {force: float(z) for force, z in Z.findall(text)}


def test_two_workers_compute_the_same_funnel_from_all_forces(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    sim = [
        "simulate",
        "--days",
        "150",
        "--scale",
        "0.4",
        "--seed",
        "8",
        "--under-refer",
        "DUR:0.8",
        "-q",
    ]
    assert run_cli([*sim, "--output", str(stream)]).status == 0
    expected = run_cli(["run", "--input", str(stream), "-q"])
    valid = int(re.search(r'"valid": (\d+)', expected.stdout).group(1))  # type: ignore[union-attr]
    for name in ("w1", "w2"):
        deployment.start_worker(
            name, "--clock", "event", "--store", "memory", "--metrics-port", "0"
        )
    deployment.publish(stream)
    deployment.wait_for(valid)
    time.sleep(15)  # a few rounds of publishing and reading each other's counts
    one, two = scrape(tmp_path / "w1.log"), scrape(tmp_path / "w2.log")
    assert len(one) >= 30, one
    assert one == two
    assert one["DUR"] < -1.959964
