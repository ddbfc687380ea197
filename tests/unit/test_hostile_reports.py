"""Hostile or broken reports given to `refmon bulletin` and `refmon diff` (issue 18, item 7)."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from refmon.bulletin.tables import csv_cell, neutral
from refmon.report_model import ReportError, parse_report
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small national month, as of its month end."""
    folder = tmp_path_factory.mktemp("month")
    events, made = folder / "events.jsonl", folder / "report.json"
    simulate = ["simulate", "--days", "31", "--scale", "0.3", "-q", "--output", str(events)]
    assert run_cli(simulate).status == 0
    run = ["run", "--input", str(events), "--as-of", "2025-02-01T00:00:00Z", "-q"]
    assert run_cli([*run, "--report", str(made)]).status == 0
    body: dict[str, Any] = json.loads(made.read_text())
    return body


def write(tmp_path: Path, body: Any, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


def bulletin(report: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = run_cli(["bulletin", "--report", str(report), "--output", str(out), "-q", *extra])
    return result.status, result.stderr


def one_error_line(stderr: str) -> bool:
    return stderr.startswith("refmon: error: ") and stderr.count("\n") == 1


def test_repeated_force_rows_are_one_clear_error(report: dict[str, Any], tmp_path: Path) -> None:
    body = copy.deepcopy(report)
    body["forces"] = body["forces"] * 10
    status, stderr = bulletin(write(tmp_path, body), tmp_path / "out")
    assert status == 2
    assert one_error_line(stderr)
    assert "repeated" in stderr
    assert not (tmp_path / "out").exists()  # a failed bulletin leaves no folder behind


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (("national", "due"), "ten", "national.due"),
        (("forces", 0, "monthly"), {"a": 1}, "forces[0].monthly"),
        (("forces", 0, "decisions"), [1, 2], "forces[0].decisions"),
        (("forces", 0, "recorded"), True, "forces[0].recorded"),
        (("forces", 0, "monthly", 0, "month"), "=HYPERLINK(1)", "forces[0].monthly[0].month"),
        (("forces", 0, "compliance"), 1.5, "forces[0].compliance"),
    ],
)
def test_wrong_types_and_values_are_one_line_naming_the_field(
    report: dict[str, Any], tmp_path: Path, where: tuple[Any, ...], value: Any, message: str
) -> None:
    body = copy.deepcopy(report)
    target = body
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    status, stderr = bulletin(write(tmp_path, body), tmp_path / "out")
    assert status == 2, stderr
    assert one_error_line(stderr), stderr
    assert message in stderr
    assert "HYPERLINK" not in stderr  # the rejected value is not echoed


def test_non_finite_numbers_and_deep_nesting_are_one_clear_error(
    report: dict[str, Any], tmp_path: Path
) -> None:
    text = json.dumps(report).replace('"window_days": 365', '"window_days": NaN', 1)
    assert "NaN" in text
    for body, words in (
        (text, "not a number: NaN"),
        ('{"as_of": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than"),
    ):
        status, stderr = bulletin(write(tmp_path, body), tmp_path / "out")
        assert status == 2
        assert one_error_line(stderr)
        assert words in stderr


def test_a_report_not_at_a_month_end_is_refused(report: dict[str, Any], tmp_path: Path) -> None:
    body = {**report, "as_of": "2025-01-31T12:00:00Z"}
    status, stderr = bulletin(write(tmp_path, body), tmp_path / "out")
    assert status == 2
    assert "not a month end" in stderr


def test_the_output_never_overwrites_the_report(report: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    given = write(out, report, "forces.csv")
    status, stderr = bulletin(given, out)
    assert status == 2
    assert "would overwrite --report" in stderr
    assert json.loads(given.read_text()) == report
    assert sorted(p.name for p in out.iterdir()) == ["forces.csv"]


def test_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    for text in ("=1+1", "+1", "-cmd", "@SUM(A1)", "\tx"):
        assert neutral(text).startswith("'")
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell(-1.5) == "-1.5"  # a negative number stays a number
    assert csv_cell("Avon and Somerset") == "Avon and Somerset"


def test_the_internal_worklist_is_apart_from_the_public_files_and_says_so(
    report: dict[str, Any], tmp_path: Path
) -> None:
    findings = tmp_path / "findings.jsonl"
    open_one = {
        "finding_id": "f1",
        "kind": "missed_referral",
        "status": "open",
        "force": "ASP",
        "case_id": "case-opaque-7781",
        "deadline": "2025-01-20T00:00:00Z",
        "detected_at": "2025-01-20T00:00:00Z",
        "summary": "=not a formula",
    }
    resolved = {**open_one, "finding_id": "f2", "status": "resolved", "case_id": "c2"}
    findings.write_text(json.dumps(open_one) + "\n" + json.dumps(resolved) + "\n")
    out = tmp_path / "out"
    status, stderr = bulletin(write(tmp_path, report), out, "--findings", str(findings))
    assert status == 0, stderr
    sheet = (out / "internal" / "worklist.csv").read_text().splitlines()
    assert len(sheet) == 2  # the header and the open finding: resolved ones are history
    assert sheet[1].startswith("OFFICIAL-SENSITIVE: internal worklist; not for publication,ASP,")
    assert ",'=not a formula," in sheet[1]
    assert "not for publication" in (out / "internal" / "README.txt").read_text()
    public = "".join(p.read_text() for p in out.glob("*.*"))
    assert "case-opaque-7781" not in public


def test_json_that_is_not_an_object_is_not_a_report() -> None:
    with pytest.raises(ReportError, match="not a report"):
        parse_report("[1]")


# refmon diff ---------------------------------------------------------------------------


def test_diff_escapes_what_it_prints_from_a_file_and_refuses_nan(
    report: dict[str, Any], tmp_path: Path
) -> None:
    forged = {**report, "ruleset": "x\x1b[2J\nASP: compliance_status ok -> alarm"}
    a, b = write(tmp_path, forged, "a.json"), write(tmp_path, report, "b.json")
    result = run_cli(["diff", str(a), str(b)])
    assert result.status == 0
    assert "\x1b" not in result.stdout
    assert "x\\x1b[2J\\nASP: compliance_status" in result.stdout
    assert not any(
        line.startswith("ASP: compliance_status ok") for line in result.stdout.splitlines()
    )
    nan = write(
        tmp_path, json.dumps(report).replace('"window_days": 365', '"window_days": NaN'), "n.json"
    )
    result = run_cli(["diff", str(nan), str(b)])
    assert result.status == 2
    assert one_error_line(result.stderr)


def test_diff_shows_only_changed_statuses_or_one_force(
    report: dict[str, Any], tmp_path: Path
) -> None:
    other = copy.deepcopy(report)
    other["forces"][0]["recorded"] += 1
    status = other["forces"][1]["compliance_status"]
    other["forces"][1]["compliance_status"] = "alarm" if status != "alarm" else "ok"
    first, second = other["forces"][0]["force"], other["forces"][1]["force"]
    a, b = write(tmp_path, report, "a.json"), write(tmp_path, other, "b.json")
    every = run_cli(["diff", str(a), str(b)]).stdout
    assert f"\n{first}: " in every
    assert f"\n{second}: " in every
    changed = run_cli(["diff", "--only-changed", str(a), str(b)]).stdout
    assert f"\n{first}: " not in changed
    assert f"\n{second}: " in changed
    one = run_cli(["diff", "--force", first, str(a), str(b)]).stdout
    assert f"\n{first}: " in one
    assert f"\n{second}: " not in one
    assert run_cli(["diff", "--force", "NOPE", str(a), str(b)]).status == 2


def test_the_example_rulesets_criteria_have_their_own_titles() -> None:
    shipped = tomllib.loads((ROOT / "streams/rulesets/ew-2020.1.toml").read_text())
    example = tomllib.loads((ROOT / "examples/ruleset-offence-5y.toml").read_text())
    titles = {c["id"]: c["title"] for c in shipped["criteria"]}
    for criterion in example["criteria"]:
        assert criterion["title"] != example["title"]
        if criterion["id"] != "relevant_offence":
            assert criterion["title"] == titles[criterion["id"]]
