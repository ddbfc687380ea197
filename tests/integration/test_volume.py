"""One force's fabricated volume is its own data-quality finding, and nobody else's
(issue 18 item 10; docs/volume.md): DUR's feed records four times its usual cases in
December, the extra ones non-mandatory and never referred."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli

pytestmark = pytest.mark.slow

SIMULATE = ["simulate", "--days", "396", "--scale", "0.3", "--seed", "3", "-q"]
AS_OF = "2026-02-01T00:00:00Z"  # the end of January: the latest three complete months


def judged(tmp_path: Path, *extra: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    stream, report, findings = (tmp_path / n for n in ("in.jsonl", "report.json", "f.jsonl"))
    assert run_cli([*SIMULATE, *extra, "--output", str(stream)]).status == 0
    args = ["run", "--input", str(stream), "--as-of", AS_OF, "-q"]
    assert run_cli([*args, "--report", str(report), "--findings", str(findings)]).status == 0
    found = [json.loads(line) for line in findings.read_text().splitlines()]
    return json.loads(report.read_text()), found


def test_the_inflated_force_alone_gets_the_volume_finding(tmp_path: Path) -> None:
    report, found = judged(tmp_path, "--inflate", "DUR:2025-12-01:4")
    rows = {r["force"]: r for r in report["forces"]}
    assert rows["DUR"]["volume_status"] == "anomaly"
    assert rows["DUR"]["volume_flagged_months"] == ["2025-12"]
    assert rows["DUR"]["open_findings"]["volume_anomaly"] == 1
    assert [f for f in rows.values() if f["volume_status"] != "ok"] == [rows["DUR"]]
    [finding] = [f for f in found if f["kind"] == "volume_anomaly"]
    assert (finding["force"], finding["status"], finding["case_id"]) == ("DUR", "open", None)
    assert finding["detected_at"] == "2026-01-01T00:00:00Z"
    for force, noted in (("DUR", 1), ("MPS", 0)):
        out = tmp_path / force
        args = ["bulletin", "--report", str(tmp_path / "report.json"), "--force", force]
        assert run_cli([*args, "--output", str(out), "-q"]).status == 0
        page = (out / "index.html").read_text()
        assert page.count("Data quality: the cases this force recorded in 2025-12") == noted


def test_without_the_fabricated_cases_every_force_is_in_control(tmp_path: Path) -> None:
    report, found = judged(tmp_path)
    assert {r["volume_status"] for r in report["forces"]} == {"ok"}
    assert [f for f in found if f["kind"] == "volume_anomaly"] == []
