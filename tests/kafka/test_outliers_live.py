"""Outliers live on Kafka (docs/contract.md section 14): the workers announce the
`outlier_overdue` findings and export the outlier metrics that `refmon run` gives."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.metrics import RefmonMetrics
from refmon.streams.worker.reader import read_topic

from tests.cli import run_cli
from tests.factories import judge, recorded
from tests.kafka.conftest import Deployment
from tests.kafka.test_cross_force import exposition

FAMILIES = ("refmon_outliers", "refmon_outliers_overdue")
SIM = [
    "simulate", "--days", "150", "--scale", "0.25", "--seed", "5",
    "--under-refer", "DUR:0.9,LINCS:0.9", "--oversight", "-q",
]  # fmt: skip


def outlier_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.name in FAMILIES
        for s in family.samples
    }


def embedded_metrics(events: list[dict[str, Any]]) -> dict[Any, float]:
    """The outlier metrics as `refmon run --metrics-port` sets them after its run."""
    engine = judge(events)
    report = engine.report(365)
    metrics = RefmonMetrics(CollectorRegistry())
    metrics.sync_statistics(report.forces, report.national, {}, report.outliers)
    return outlier_samples(generate_latest(metrics.registry).decode())


def overdue_lines(lines: list[str]) -> dict[str, dict[str, Any]]:
    found = (json.loads(line) for line in lines)
    return {f["finding_id"]: f for f in found if f["kind"] == "outlier_overdue"}


def announced(deployment: Deployment, topic: str) -> dict[str, dict[str, Any]]:
    latest = read_topic(KafkaSettings(deployment.broker.bootstrap), topic)
    found = (json.loads(v) for v in latest.values() if v is not None)
    return {
        f["finding_id"]: {k: v for k, v in f.items() if k != "change"}
        for f in found
        if f["kind"] == "outlier_overdue"
    }


def settled(got: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Every finding of `refmon run` announced as it stands, and no other open. While the
    workers catch up, a deadline can pass on the clock of one partition before an action on
    another arrives: such a finding opens, then resolves, and stays on the compacted
    topic, resolved (as a case finding resolved by a late referral does)."""
    extra = {k: f for k, f in got.items() if k not in expected}
    return all(got.get(k) == f for k, f in expected.items()) and all(
        f["status"] == "resolved" for f in extra.values()
    )


def differences(
    got: dict[str, Any], expected: dict[str, Any], scraped: list[dict[Any, float]], wanted: Any
) -> str:
    findings = {
        k: (got.get(k), expected.get(k)) for k in {*got, *expected} if got.get(k) != expected.get(k)
    }
    metrics = [
        {k: (w.get(k), wanted.get(k)) for k in {*w, *wanted} if w.get(k) != wanted.get(k)}
        for w in scraped
    ]
    return f"findings (worker, run): {findings}\nmetrics (worker, run): {metrics}"


def test_two_workers_announce_the_overdue_outliers_and_export_the_metrics_of_refmon_run(
    deployment: Deployment, tmp_path: Path
) -> None:
    simulated = tmp_path / "simulated.jsonl"
    assert run_cli([*SIM, "--output", str(simulated)]).status == 0
    lines = simulated.read_text().splitlines()
    actions = [line for line in lines if '"outlier.' in line]
    others = [line for line in lines if '"outlier.' not in line]
    # The actions first (before their outliers open), one twice, and last a case months
    # on, so that the clock passes several deadlines and more review points.
    later = json.dumps(recorded("2025-08-15T10:00:00Z", case="later", force="MPS"))
    stream = tmp_path / "events.jsonl"
    stream.write_text("\n".join([*actions, actions[-1], *others, later]) + "\n")
    findings = tmp_path / "embedded-findings.jsonl"
    result = run_cli(["run", "--input", str(stream), "--findings", str(findings), "-q"])
    assert result.status == 0
    report = json.loads(result.stdout)
    expected = overdue_lines(findings.read_text().splitlines())
    owners = {(o["force"], o["outlier_id"]): o["owner"] for o in report["outliers"]}
    open_by = {
        owners[(f["force"], f["case_id"])] for f in expected.values() if f["status"] == "open"
    }
    # Not vacuous: open ones owed by each side, and one already resolved.
    assert open_by == {"force", "watchdog"}, expected
    assert any(f["status"] == "resolved" for f in expected.values())
    events = [json.loads(line) for line in stream.read_text().splitlines()]
    metrics = embedded_metrics(events)
    assert any(v for (name, _), v in metrics.items() if name == "refmon_outliers_overdue")

    for name in ("w1", "w2"):
        deployment.start_worker(
            name, "--clock", "event", "--metrics-port", "0", "--stats-seconds", "1"
        )
    deployment.publish(stream)
    counts = report["events"]
    deployment.wait_for(counts["valid"], counts["duplicate"], stream=stream)
    topics = Topics(deployment.prefix)
    deadline = time.monotonic() + 120
    while True:
        got = announced(deployment, topics.findings)
        scraped = [outlier_samples(exposition(tmp_path / f"{w}.log")) for w in ("w1", "w2")]
        if settled(got, expected) and scraped == [metrics, metrics]:
            break
        assert time.monotonic() < deadline, differences(got, expected, scraped, metrics)
        time.sleep(1)

    # The force hears of the steps it owes, never of the watchdog's.
    for force in {f["force"] for f in expected.values()}:
        heard = announced(deployment, topics.alerts(force))
        for ident, finding in expected.items():
            owner = owners[(finding["force"], finding["case_id"])]
            if finding["force"] == force and finding["status"] == "open":
                assert (ident in heard) == (owner == "force"), (ident, owner)
