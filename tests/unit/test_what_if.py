"""What-if rulesets: `refmon run --ruleset PATH` and `refmon diff`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.factories import allegation, recorded, referred

ROOT = Path(__file__).resolve().parents[2]
FIVE_YEARS = ROOT / "examples" / "ruleset-offence-5y.toml"


def offence(years: float | None, case: str, category: str = "use_of_force") -> dict[str, Any]:
    return recorded(
        "2026-01-05T10:00:00Z",
        case=case,
        allegations=[allegation(category, offence_max_sentence_years=years)],
        assessed=False,
    )


EVENTS = [
    offence(None, "none"),
    offence(4, "four"),
    offence(5, "five"),
    offence(6.9, "six-nine"),
    offence(7, "seven"),
    offence(14, "fourteen"),
    offence(5, "five-assault", category="serious_assault"),
    offence(5, "five-referred"),
    referred("2026-01-05T12:00:00Z", case="five-referred", kind="voluntary"),
]


def _run(tmp_path: Path, *extra: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    tag = "b" if extra else "a"
    report, findings = tmp_path / f"report-{tag}.json", tmp_path / f"findings-{tag}.jsonl"
    args = ["run", "--input", str(stream), "--report", str(report), "--findings", str(findings)]
    result = run_cli([*args, "--as-of", "2026-02-01T00:00:00Z", "-q", *extra])
    assert result.status == 0, result.stderr
    found = [json.loads(line) for line in findings.read_text().splitlines()]
    return json.loads(report.read_text()), found


def _missed(findings: list[dict[str, Any]]) -> set[str]:
    return {f["case_id"] for f in findings if f["kind"] == "missed_referral"}


def test_the_lowered_threshold_makes_exactly_the_five_to_seven_year_cases_mandatory(
    tmp_path: Path,
) -> None:
    (a, found_a), (b, found_b) = _run(tmp_path), _run(tmp_path, "--ruleset", str(FIVE_YEARS))
    assert b["ruleset"] == "ew-2020.1-whatif-offence-5y"
    assert _missed(found_a) == {"seven", "fourteen", "five-assault"}
    assert _missed(found_b) - _missed(found_a) == {"five", "six-nine"}
    # The voluntary referral becomes a mandatory one, on time: no finding, one more on time.
    dur_a = next(r for r in a["forces"] if r["force"] == "DUR")
    dur_b = next(r for r in b["forces"] if r["force"] == "DUR")
    assert (dur_a["mandatory"], dur_b["mandatory"]) == (3, 6)
    assert (dur_a["voluntary"], dur_b["voluntary"]) == (1, 0)
    assert (dur_a["on_time"], dur_b["on_time"]) == (0, 1)
    assert {f["ruleset"] for f in found_b} == {"ew-2020.1-whatif-offence-5y"}
    relevant = [f for f in found_b if f["case_id"] == "five" and f["kind"] == "missed_referral"]
    assert relevant[0]["criteria"] == ["relevant_offence"]

    result = run_cli(["diff", str(tmp_path / "report-a.json"), str(tmp_path / "report-b.json")])
    assert result.status == 0
    lines = result.stdout.splitlines()
    assert lines[2].startswith("national: due 3 -> 6 (+3)")
    dur = next(line for line in lines if line.startswith("DUR: "))
    assert "mandatory 3 -> 6 (+3)" in dur
    assert "open missed_referral 3 -> 5 (+2)" in dur
    # Six due cases are enough to be compared (one force alone is its own target).
    assert dur.startswith("DUR: compliance_status insufficient_data -> ok;")
    assert lines[-1] == "1 force(s) with changes, 1 with a changed status"
    as_json = run_cli(
        ["diff", "--json", str(tmp_path / "report-a.json"), str(tmp_path / "report-b.json")]
    )
    moved = json.loads(as_json.stdout)["forces"]
    assert list(moved) == ["DUR"]
    assert moved["DUR"]["voluntary"] == [1, 0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("= 5 }", "= -1 }"),
            "criteria[6] (relevant_offence): "
            "any_allegation_offence_max_sentence_years_at_least takes a number >= 0",
        ),
        (('id = "ew-2020.1-whatif-offence-5y"', 'id = "ew-2020.1"'), "is a shipped ruleset's"),
        (("deadline_days_after = 1", "deadline_days_after = -1"), "deadline_days_after must be"),
        (("[[criteria]]", "[[criterion]]"), "unknown key(s) criterion"),
    ],
)
def test_a_bad_ruleset_file_is_one_line_naming_the_field(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(FIVE_YEARS.read_text().replace(*edit, 1))
    result = run_cli(["run", "--input", "-", "--ruleset", str(bad)])
    assert result.status == 2
    assert result.stderr.startswith(f"refmon: error: --ruleset {bad}: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_copy_of_a_shipped_ruleset_may_keep_its_id(tmp_path: Path) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text((ROOT / "streams" / "rulesets" / "ew-2020.1.toml").read_text())
    result = run_cli(["run", "--input", "-", "--ruleset", str(copy), "-q"])
    assert result.status == 0
    assert json.loads(result.stdout)["ruleset"] == "ew-2020.1"
