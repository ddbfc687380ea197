"""Cross-force statistics come from every force's counts, whichever worker holds them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.cli import run_cli
from tests.factories import judge
from tests.kafka.conftest import Deployment


def exposition(log: Path) -> str:
    port = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace"))
    assert port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=5) as response:
        return str(response.read().decode())


def scrape(log: Path) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(exposition(log)):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def by_force(samples: dict[str, list[Sample]], name: str) -> dict[str, float]:
    return {s.labels["force"]: s.value for s in samples.get(name, [])}


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
            name, "--clock", "event", "--metrics-port", "0", "--stats-seconds", "2"
        )
    deployment.publish(stream)
    deployment.wait_for(valid, stream=stream)
    # Metrics refresh every few seconds: wait until both have published, read each
    # other's counts and seen their own lag at zero, rather than for a fixed time.
    deadline = time.monotonic() + 120
    while True:
        first, second = scrape(tmp_path / "w1.log"), scrape(tmp_path / "w2.log")
        lags = [s.value for w in (first, second) for s in w.get("refmon_consumer_lag_messages", [])]
        zs = [by_force(w, "refmon_force_compliance_zscore") for w in (first, second)]
        if lags and not any(lags) and zs[0] == zs[1] and len(zs[0]) >= 30:
            break
        assert time.monotonic() < deadline, (lags, zs)
        time.sleep(2)
    one = by_force(first, "refmon_force_compliance_zscore")
    two = by_force(second, "refmon_force_compliance_zscore")
    assert len(one) >= 30, one
    assert one == two
    assert one["DUR"] < -1.959964

    # Each worker reports the delays of the forces it holds; together they are everyone's.
    counts = [by_force(w, "refmon_force_referral_delay_seconds_count") for w in (first, second)]
    assert counts[0]
    assert counts[1]
    assert not set(counts[0]) & set(counts[1])
    engine = judge(json.loads(line) for line in stream.read_text().splitlines())
    expected_counts = {f: h.count for f, h in engine.referral_delays(365).items()}
    assert {**counts[0], **counts[1]} == expected_counts

    # Both workers have caught up: every partition they consume shows no lag.
    for worker in (first, second):
        lags = worker["refmon_consumer_lag_messages"]
        assert any(lag.labels["topic"].endswith("by-force") for lag in lags), lags
        assert all(lag.value == 0 for lag in lags), lags

    # The worker's exposition, consumer lag included, passes Prometheus's own linter.
    promtool = shutil.which("promtool")
    assert promtool, "promtool is needed (Debian package prometheus)"
    checked = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition(tmp_path / "w1.log"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not checked.stdout.strip(), checked.stdout
