"""`refmon run` (docs/contract.md section 10): outputs, dead letters, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.factories import received, recorded

DUTY = "2026-02-02T10:00:00Z"


def jsonl(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_reads_stdin_and_writes_the_report_to_stdout(tmp_path: Path) -> None:
    events = [recorded(DUTY, categories=["serious_assault"]), received("2026-02-05T00:00:00Z")]
    result = run_cli(
        ["run", "--input", "-", "--findings", str(tmp_path / "f.jsonl")], jsonl(events)
    )
    assert result.status == 0
    report = json.loads(result.stdout)
    assert report["as_of"] == "2026-02-05T00:00:00Z"
    assert report["ruleset"] == "ew-2020.1"
    assert report["window_days"] == 365
    assert report["events"] == {"valid": 2, "invalid": 0, "duplicate": 0}
    dur = next(r for r in report["forces"] if r["force"] == "DUR")
    assert (dur["recorded"], dur["mandatory"], dur["due"], dur["late"]) == (1, 1, 1, 1)
    assert dur["open_findings"]["late_referral"] == 1
    assert dur["compliance_status"] == "insufficient_data"
    assert len(report["forces"]) == 44
    findings = read_jsonl(tmp_path / "f.jsonl")
    assert {(f["kind"], f["status"]) for f in findings} == {
        ("missed_referral", "resolved"),
        ("late_referral", "open"),
    }
    assert set(findings[0]) == {
        "finding_id",
        "kind",
        "status",
        "force",
        "case_id",
        "criteria",
        "duty_arose_at",
        "deadline",
        "detected_at",
        "summary",
        "ruleset",
        "duty_event_id",
        "referral_event_id",
        "resolves",
    }
    late = next(f for f in findings if f["kind"] == "late_referral")
    assert (late["ruleset"], late["duty_event_id"], late["referral_event_id"]) == (
        "ew-2020.1",
        events[0]["event_id"],
        events[1]["event_id"],
    )
    assert "DUR" in result.stderr
    assert "flagged" in result.stderr


MALFORMED: list[tuple[bytes, str]] = [
    (b"{not json", "not_json"),
    (b"[1,2,3]", "not_object"),
    (json.dumps({**recorded(DUTY), "schema_version": "1"}).encode(), "unsupported_schema_version"),
    (json.dumps({**recorded(DUTY), "extra": True}).encode(), "unknown_field"),
    (b"\xc3\x28\xa0\xa1", "invalid_utf8"),
    (b"{" + b'"a":"' + b"x" * 5000 + b'"}', "too_long"),
    (json.dumps(recorded(DUTY, force="XYZ")).encode(), "unknown_force"),
    (json.dumps(recorded("2026-02-02T10:00:00")).encode(), "naive_timestamp"),
]


def test_every_malformed_input_class_lands_in_the_dead_letters_and_the_run_completes(
    tmp_path: Path,
) -> None:
    good = [recorded(DUTY, case=f"c{i}") for i in range(3)]
    lines = [json.dumps(good[0]).encode()]
    for raw, _ in MALFORMED:
        lines += [raw, json.dumps(good[len(lines) % 3]).encode()]
    data = b"\n".join(lines) + b"\n"
    dead = tmp_path / "dead.jsonl"
    result = run_cli(
        ["run", "--input", "-", "--dead-letter", str(dead), "--max-line-bytes", "4096", "-q"], data
    )
    assert result.status == 0
    letters = read_jsonl(dead)
    assert [d["reason"] for d in letters] == [code for _, code in MALFORMED]
    assert [d["line"] for d in letters] == [2 * i + 2 for i in range(len(MALFORMED))]
    assert all(d["message"] for d in letters)
    assert letters[4]["raw_base64"] == "wyigoQ=="  # invalid UTF-8 kept, as base64
    assert "raw" not in letters[5]
    assert letters[5]["bytes"] == 5008
    assert letters[3]["raw"] == lines[7].decode()  # kept whole, so nothing is lost
    assert letters[3]["event_id"] == json.loads(lines[7])["event_id"]
    report = json.loads(result.stdout)
    assert report["events"] == {
        "valid": 3,
        "invalid": len(MALFORMED),
        "duplicate": len(MALFORMED) + 1 - 3,
    }


def test_rejections_are_named_on_stderr_without_their_payload_when_no_dead_letter_file() -> None:
    secret = json.dumps({**recorded(DUTY), "note": "Jane Smith"}).encode()
    result = run_cli(["run", "--input", "-"], secret + b"\n")
    assert result.status == 0
    assert "line 1 rejected" in result.stderr
    assert "note" in result.stderr
    assert "Jane" not in result.stderr


def test_duplicates_are_counted_not_applied() -> None:
    event = recorded(DUTY, categories=["serious_assault"])
    result = run_cli(["run", "--input", "-", "-q"], jsonl([event, event, event]))
    assert json.loads(result.stdout)["events"] == {"valid": 1, "invalid": 0, "duplicate": 2}


def test_as_of_moves_the_clock_forward_and_opens_what_time_alone_opens(tmp_path: Path) -> None:
    findings = tmp_path / "f.jsonl"
    data = jsonl([recorded(DUTY, categories=["serious_assault"])])
    run_cli(["run", "--input", "-", "--findings", str(findings), "-q"], data)
    assert read_jsonl(findings) == []
    result = run_cli(
        [
            "run",
            "--input",
            "-",
            "--as-of",
            "2026-02-04T00:00:00Z",
            "--findings",
            str(findings),
            "-q",
        ],
        data,
    )
    assert json.loads(result.stdout)["as_of"] == "2026-02-04T00:00:00Z"
    assert [f["kind"] for f in read_jsonl(findings)] == ["missed_referral"]


def test_an_as_of_before_the_latest_event_does_not_turn_the_clock_back() -> None:
    result = run_cli(
        ["run", "--input", "-", "--as-of", "2026-01-01T00:00:00Z"], jsonl([recorded(DUTY)])
    )
    assert result.status == 0
    assert json.loads(result.stdout)["as_of"] == "2026-02-02T10:00:00Z"
    assert "does not go back" in result.stderr


def test_window_days_bounds_the_statistics() -> None:
    events = [recorded("2025-01-01T00:00:00Z", case="old"), recorded(DUTY, case="new")]
    result = run_cli(["run", "--input", "-", "--window-days", "30", "-q"], jsonl(events))
    dur = next(r for r in json.loads(result.stdout)["forces"] if r["force"] == "DUR")
    assert dur["recorded"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", "--input", "/nonexistent/events.jsonl"],
        ["run", "--input", "-", "--as-of", "yesterday"],
        ["run", "--input", "-", "--as-of", "2026-01-01T00:00:00"],
        ["run", "--input", "-", "--window-days", "0"],
        ["run", "--input", "-", "--report", "/nonexistent/dir/r.json"],
        ["run", "--input", "-", "--report", "-", "--findings", "-"],
        ["run", "--input", "-", "--keep-serving"],
        ["no-such-command"],
    ],
)
def test_unusable_arguments_or_input_exit_2(args: list[str]) -> None:
    assert run_cli(args).status == 2


def test_a_directory_as_input_is_unreadable(tmp_path: Path) -> None:
    result = run_cli(["run", "--input", str(tmp_path)])
    assert result.status == 2
    assert "refmon: error:" in result.stderr


def test_empty_input_gives_an_empty_report() -> None:
    result = run_cli(["run", "--input", "-", "-q"], b"\n\n")
    report = json.loads(result.stdout)
    assert result.status == 0
    assert report["as_of"] is None
    assert report["events"]["valid"] == 0


def test_a_named_pipe_is_a_readable_input(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    data = jsonl([recorded(DUTY)])
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    result = run_cli(["run", "--input", str(fifo), "-q"])
    writer.join()
    assert result.status == 0
    assert json.loads(result.stdout)["events"]["valid"] == 1
