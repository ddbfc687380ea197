"""On Kafka the worker holding a force announces its `volume_anomaly`, as `refmon run` finds
it (issue 18 item 10; docs/volume.md): DUR's feed records four times its usual cases in
December; no other force is flagged."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli
from tests.kafka.conftest import Deployment
from tests.kafka.test_worker import read_topic

SIMULATE = ["simulate", "--days", "396", "--scale", "0.3", "--seed", "6", "-q"]


def test_the_worker_announces_the_inflated_force_volume_anomaly_and_no_other(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    args = [*SIMULATE, "--inflate", "DUR:2025-12-01:4", "--output", str(stream)]
    assert run_cli(args).status == 0
    expected = run_cli(["run", "--input", str(stream), "-q"]).stdout
    flagged = [r["force"] for r in json.loads(expected)["forces"] if r["volume_status"] != "ok"]
    assert flagged == ["DUR"]
    valid = int(re.search(r'"valid": (\d+)', expected).group(1))  # type: ignore[union-attr]
    deployment.start_worker("w1", "--clock", "event", "--stats-seconds", "2")
    deployment.publish(stream)
    deployment.wait_for(valid, stream=stream)
    topics = Topics(deployment.prefix)
    # While the worker catches up on a year, its clock passes through every month and a
    # force can be flagged for a while and resolved: the compacted topic's latest value
    # per finding is what holds once it has caught up.
    now_open: list[tuple[str, str | None]] = []
    until = time.monotonic() + 120
    while now_open != [("DUR", None)] and time.monotonic() < until:
        latest: dict[str, dict[str, Any]] = {}
        for record in read_topic(deployment, topics.findings, timeout=2):
            finding = json.loads(record.value)
            if finding["kind"] == "volume_anomaly":
                latest[finding["force"]] = finding
        now_open = [(f, v["case_id"]) for f, v in sorted(latest.items()) if v["status"] == "open"]
    assert now_open == [("DUR", None)]
    alerts = [json.loads(r.value) for r in read_topic(deployment, topics.alerts("DUR"), timeout=2)]
    assert "volume_anomaly" in {a["kind"] for a in alerts}
    assert deployment.report()["forces"] == json.loads(expected)["forces"]
