"""`refmon simulate --oversight`: actions the engine applies, none of them ignored."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_cli


def test_simulated_actions_work_outliers_through_and_the_run_ignores_none(tmp_path: Path) -> None:
    stream = tmp_path / "events.jsonl"
    made = run_cli(
        [
            "simulate", "--days", "300", "--scale", "0.25", "--late", "DUR:0.6,LINCS:0.6",
            "--oversight", "--output", str(stream), "-q",
        ]
    )  # fmt: skip
    assert made.status == 0, made.stderr
    actions = [
        e
        for e in map(json.loads, stream.read_text().splitlines())
        if e["event_type"].startswith("outlier.")
    ]
    assert actions
    report = tmp_path / "report.json"
    ran = run_cli(["run", "--input", str(stream), "--report", str(report), "-q"])
    assert ran.status == 0, ran.stderr
    outliers = json.loads(report.read_text())["outliers"]
    applied = {h["event_id"] for o in outliers for h in o["history"]}
    assert applied == {a["event_id"] for a in actions}
    assert all(o["ignored_actions"] == 0 for o in outliers)
    assert any(o["state"] == "closed" for o in outliers)
