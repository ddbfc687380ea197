"""The Kafka path and the embedded runner judge the same events the same way."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kafka import KafkaProducer
from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli
from tests.kafka.conftest import Deployment

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
    # A deterioration finding and returned shares to compare (issue 11).
    "--deteriorate",
    "MPS:2025-01-15:0.5",
    "--over-refer",
    "NOTTS:0.3",
    "--duplicates",
    "0.02",
    "--disorder-hours",
    "6",
    "-q",
]


def embedded(stream: Path, tmp_path: Path) -> tuple[dict[str, object], list[str]]:
    findings = tmp_path / "embedded-findings.jsonl"
    result = run_cli(["run", "--input", str(stream), "--findings", str(findings), "-q"])
    assert result.status == 0
    return json.loads(result.stdout), open_findings(findings)


def open_findings(path: Path) -> list[str]:
    return sorted(line for line in path.read_text().splitlines() if '"status":"open"' in line)


def test_publish_and_worker_give_the_embedded_report_and_open_findings(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "--output", str(stream)]).status == 0
    expected, expected_open = embedded(stream, tmp_path)
    deployment.start_worker("w1", "--clock", "event")
    deployment.publish(stream)
    events = expected["events"]
    assert isinstance(events, dict)
    deployment.wait_for(events["valid"], events["duplicate"], stream=stream)
    findings = tmp_path / "kafka-findings.jsonl"
    result = run_cli(["report", *deployment.args(), "--findings", str(findings)])
    assert result.stdout == run_cli(["run", "--input", str(stream), "-q"]).stdout
    assert open_findings(findings) == expected_open
    assert len(expected_open) > 20  # the comparison is not vacuous
    assert any('"kind":"deterioration"' in line for line in expected_open)


def test_hostile_ids_and_impossible_times_are_judged_alike_on_both_runners(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Issue 9's poisoned streams, sent straight to the input topics (publish would refuse the
    times): one force reusing another's event ids, the watchdog reusing an id for another
    force (on another by-force partition), a conflicting repeat, and events dated 2999."""
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM[:-1], "--duplicates", "0", "-q", "--output", str(stream)]).status == 0
    events = [json.loads(line) for line in stream.read_text().splitlines()]
    mps = [e for e in events if e["force"] == "MPS" and e["event_type"] == "case.referred"][:40]
    watchdog = [e for e in events if e["event_type"] == "referral.received"][:10]
    hostile = [
        {**e, "force": "DUR", "case_id": f"x{n}", "event_type": "case.closed", "payload": {}}
        for n, e in enumerate(mps)
    ]
    hostile += [
        {**e, "force": "LAN" if e["force"] != "LAN" else "DUR", "case_id": f"w{n}"}
        for n, e in enumerate(watchdog)
    ]
    hostile += [{**events[0], "payload": {**events[0]["payload"], "harm": "death"}}]
    hostile += [
        {**e, "event_id": f"{e['event_id']}-2999", "occurred_at": "2999-01-01T00:00:00Z"}
        for e in events[:3]
    ]
    poisoned = tmp_path / "poisoned.jsonl"
    poisoned.write_text("".join(json.dumps(e) + "\n" for e in [*events, *hostile]))
    expected = run_cli(["run", "--input", str(poisoned), "-q"])
    assert expected.status == 0
    counts = json.loads(expected.stdout)["events"]
    assert counts["invalid"] == 10 + 1 + 3  # the watchdog reuses, the conflict, the 2999s

    producer = KafkaProducer(bootstrap_servers=deployment.broker.bootstrap, acks="all")
    topics = Topics(deployment.prefix)
    for e in [*events, *hostile]:
        source = "watchdog" if e["event_type"].startswith("referral.") else e["force"]
        producer.send(topics.input(source), key=b"k", value=json.dumps(e).encode())
    producer.flush()
    producer.close()
    deployment.start_worker("w1", "--clock", "event")
    deployment.wait_for(counts["valid"], counts["duplicate"], stream=poisoned)
    deadline = time.monotonic() + 60
    while (got := run_cli(["report", *deployment.args()]).stdout) != expected.stdout:
        assert time.monotonic() < deadline, got
        time.sleep(1)


def test_outliers_and_their_actions_are_judged_alike_on_both_runners(
    deployment: Deployment, tmp_path: Path
) -> None:
    # Section 14 on Kafka: the watchdog's actions on its topic, the force's on its own,
    # some sent before their outlier opens (the action lines first), one sent twice.
    simulated = tmp_path / "simulated.jsonl"
    sim = [
        "simulate", "--days", "150", "--scale", "0.25", "--seed", "5",
        "--under-refer", "DUR:0.9,LINCS:0.9", "--oversight", "-q",
    ]  # fmt: skip
    assert run_cli([*sim, "--output", str(simulated)]).status == 0
    lines = simulated.read_text().splitlines()
    actions = [line for line in lines if '"outlier.' in line]
    assert len(actions) >= 4, "the scenario must exercise the outlier workflow"
    stream = tmp_path / "events.jsonl"
    others = [line for line in lines if '"outlier.' not in line]
    stream.write_text("\n".join([*actions, actions[0], *others]) + "\n")
    expected, expected_open = embedded(stream, tmp_path)
    assert expected["outliers"], "outliers must open for the comparison to mean anything"
    deployment.start_worker("w1", "--clock", "event")
    deployment.publish(stream)
    events = expected["events"]
    assert isinstance(events, dict)
    deployment.wait_for(events["valid"], events["duplicate"], stream=stream)
    findings = tmp_path / "kafka-findings.jsonl"
    result = run_cli(["report", *deployment.args(), "--findings", str(findings)])
    assert json.loads(result.stdout)["outliers"] == expected["outliers"]
    assert result.stdout == run_cli(["run", "--input", str(stream), "-q"]).stdout
    assert open_findings(findings) == expected_open
