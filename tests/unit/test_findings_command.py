"""`refmon findings`: a worklist from a findings file, filtered by kind and status."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from refmon.streams.engine.resolves import RESOLVES

from tests.cli import run_cli
from tests.factories import recorded, referred

DUTY = "2026-02-02T10:00:00Z"  # due before 2026-02-04T00:00:00Z
EVENTS = [
    recorded(DUTY, categories=["serious_assault"]),
    referred("2026-02-05T09:00:00Z"),
    recorded(DUTY, case="c2", harm="death"),
    recorded(DUTY, case="m1", force="MPS", categories=["serious_assault"]),
]


def findings_file(tmp_path: Path) -> Path:
    stream, out = tmp_path / "events.jsonl", tmp_path / "findings.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    args = ["run", "--input", str(stream), "--as-of", "2026-02-08T00:00:00Z"]
    assert run_cli([*args, "--findings", str(out)]).status == 0
    return out


def findings(tmp_path: Path, *args: str) -> Any:
    return run_cli(["findings", "--input", str(findings_file(tmp_path)), *args])


def test_the_worklist_is_the_open_findings_one_line_each_with_what_resolves_them(
    tmp_path: Path,
) -> None:
    result = findings(tmp_path, "--force", "DUR")
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3  # c1 late and unconfirmed, c2 missed; MPS's is not DUR's
    missed = next(x for x in lines if "missed_referral" in x)
    assert missed.startswith("2026-02-04 00:00 GMT  open missed_referral  DUR/c2  ")
    assert "criteria death_or_serious_injury; due before 2026-02-04 00:00 GMT" in missed
    assert missed.endswith(f"to resolve: {RESOLVES['missed_referral']}")
    assert "refmon: 3 finding(s) of 5 from 5 change(s) read" in result.stderr


def test_filters_by_kind_and_status_and_writes_csv(tmp_path: Path) -> None:
    only = ("--kind", "missed_referral", "--status", "all", "--format", "csv")
    result = findings(tmp_path, "--force", "DUR", *only)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["case_id"], r["status"]) for r in rows] == [("c1", "resolved"), ("c2", "open")]
    text = findings(tmp_path, "--force", "DUR", *only[:-2]).stdout.splitlines()
    assert "to resolve" not in text[0]  # c1's, resolved: nothing more to do
    assert text[1].endswith(f"to resolve: {RESOLVES['missed_referral']}")
    assert rows[0]["resolves"] == RESOLVES["missed_referral"]
    assert rows[1]["criteria"] == "death_or_serious_injury"


def test_json_is_the_findings_file_format(tmp_path: Path) -> None:
    result = findings(tmp_path, "--kind", "unconfirmed_referral", "--format", "json")
    (only,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert (only["force"], only["case_id"], only["kind"]) == ("DUR", "c1", "unconfirmed_referral")
    assert only["resolves"] == RESOLVES["unconfirmed_referral"]


def test_alerts_fold_to_each_findings_latest_state_and_bad_lines_are_named_not_shown(
    tmp_path: Path,
) -> None:
    first = {
        "finding_id": "fnd-1",
        "kind": "missed_referral",
        "status": "open",
        "force": "DUR",
        "case_id": "=HYPERLINK(1)",
        "criteria": ["dsi"],
        "deadline": "2026-02-04T00:00:00Z",
        "detected_at": "2026-02-04T00:00:00Z",
        "summary": "s",
        "change": "opened",
    }
    later = {**first, "status": "resolved", "change": "resolved"}
    other = {**first, "finding_id": "fnd-2", "case_id": "c9"}
    saved = tmp_path / "alerts.jsonl"
    lines = [json.dumps(first), "not json {secret}", json.dumps(later), json.dumps(other)]
    saved.write_text("\n".join(lines) + "\n")
    result = run_cli(["findings", "--input", str(saved), "--status", "all", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["finding_id"], r["status"]) for r in rows] == [
        ("fnd-1", "resolved"),
        ("fnd-2", "open"),
    ]
    # An old (0.1) alert has no resolves: it is filled in from the kind.
    assert rows[1]["resolves"] == RESOLVES["missed_referral"]
    assert rows[0]["case_id"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    assert "refmon: warning: line 2: not JSON; skipped" in result.stderr
    assert "secret" not in result.stderr
    assert "1 skipped (not findings)" in result.stderr


def test_a_force_is_needed_to_read_kafka_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    result = run_cli(["findings"])
    assert (result.status, result.stderr.strip()) == (
        2,
        "refmon: error: give --force CODE (or set REFMON_FORCE)",
    )
    assert run_cli(["findings", "--force", "NOPE", "--input", "-"]).status == 2


def test_quiet_says_nothing_on_stderr_but_the_worklist_is_the_same(tmp_path: Path) -> None:
    saved = tmp_path / "mixed.jsonl"
    saved.write_text(findings_file(tmp_path).read_text() + "not json\n")
    loud = run_cli(["findings", "--input", str(saved)])
    quiet = run_cli(["findings", "--input", str(saved), "--quiet"])
    assert (quiet.status, quiet.stdout, quiet.stderr) == (0, loud.stdout, "")
    assert "not JSON" in loud.stderr
