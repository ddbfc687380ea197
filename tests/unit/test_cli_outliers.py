"""`refmon outliers`, `refmon outlier record` and `refmon run --peer-groups`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli import run_cli
from tests.outlier_world import OUTLIER, action, background

AS_OF = "2025-12-20T00:00:00Z"


def jsonl(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def report(tmp_path: Path, events: list[dict[str, Any]], *extra: str) -> Path:
    path = tmp_path / "report.json"
    result = run_cli(
        ["run", "--input", "-", "--as-of", AS_OF, "--report", str(path), "-q", *extra],
        jsonl(events),
    )
    assert result.status == 0, result.stderr
    return path


def test_outliers_lists_a_table_and_filters(tmp_path: Path) -> None:
    path = report(tmp_path, background())
    table = run_cli(["outliers", "--report", str(path)])
    assert table.status == 0
    header, row = table.stdout.splitlines()
    assert header.split()[:3] == ["outlier", "force", "level"]
    assert row.split()[:2] == [OUTLIER, "DUR"]
    assert "yes" in row.split()  # data check due 16 December, as of the 20th
    none = run_cli(["outliers", "--report", str(path), "--force", "ASP"])
    assert (none.status, none.stdout) == (0, "")
    as_json = run_cli(["outliers", "--report", str(path), "--state", "data_check", "--json"])
    assert [o["outlier_id"] for o in json.loads(as_json.stdout)] == [OUTLIER]


def test_outlier_record_writes_one_valid_event_that_the_run_then_applies(tmp_path: Path) -> None:
    path = report(tmp_path, background())
    actions = tmp_path / "actions.jsonl"
    result = run_cli(
        [
            "outlier", "record", OUTLIER, "checked", "--outcome", "confirmed",
            "--at", "2025-12-10T10:00:00Z", "--report", str(path), "--output", str(actions),
        ]
    )  # fmt: skip
    assert result.status == 0, result.stderr
    (event,) = [json.loads(line) for line in actions.read_text().splitlines()]
    assert event["event_type"] == "outlier.checked"
    assert (event["force"], event["case_id"]) == ("DUR", OUTLIER)
    assert event["payload"] == {"outcome": "confirmed"}
    again = report(tmp_path, [*background(), event])
    (outlier,) = json.loads(again.read_text())["outliers"]
    assert outlier["state"] == "notify"
    second = run_cli(
        [
            "outlier", "record", OUTLIER, "outlier.notified", "--at", "2025-12-11T10:00:00Z",
            "--report", str(again), "--output", str(actions),
        ]
    )  # fmt: skip
    assert second.status == 0
    ids = [json.loads(line)["event_id"] for line in actions.read_text().splitlines()]
    assert len(set(ids)) == 2


def test_outlier_record_refuses_an_action_the_state_does_not_await(tmp_path: Path) -> None:
    path = report(tmp_path, background())
    out = tmp_path / "actions.jsonl"
    result = run_cli(
        ["outlier", "record", OUTLIER, "responded", "--report", str(path), "--output", str(out)]
    )
    assert result.status == 2
    assert "awaits outlier.checked from the watchdog" in result.stderr
    assert not out.exists()


def test_outlier_record_needs_the_outcome_its_action_takes(tmp_path: Path) -> None:
    path = report(tmp_path, background())
    result = run_cli(
        ["outlier", "record", OUTLIER, "checked", "--report", str(path), "--output", "-"]
    )
    assert result.status == 2
    assert "--outcome confirmed or data_error" in result.stderr


def test_outlier_record_refuses_a_closed_outlier_and_an_unknown_one(tmp_path: Path) -> None:
    closing = action("outlier.closed", "2025-12-03T09:00:00Z", "w-c", reason="withdrawn")
    path = report(tmp_path, [*background(), closing])
    closed = run_cli(
        [
            "outlier", "record", OUTLIER, "closed", "--reason", "satisfied",
            "--report", str(path), "--output", "-",
        ]
    )  # fmt: skip
    assert closed.status == 2
    assert "is closed" in closed.stderr
    unknown = run_cli(
        ["outlier", "record", "timeliness-2020-01", "notified", "--report", str(path),
         "--output", "-"]
    )  # fmt: skip
    assert unknown.status == 2
    assert "no outlier timeliness-2020-01" in unknown.stderr


def test_run_defaults_to_police_regions_and_reports_group_means(tmp_path: Path) -> None:
    body = json.loads(report(tmp_path, background()).read_text())
    assert body["peer_groups"] == "regions"
    dur = next(f for f in body["forces"] if f["force"] == "DUR")
    assert dur["group"] == "North East"
    # CLEV is DUR's only regional peer here with cases: (0 + 1) / 2.
    assert dur["compliance_group"] == 0.5


def test_run_takes_peer_groups_from_a_file_and_repeats_its_source(tmp_path: Path) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("# source: most similar forces, date: 2025-10\nforce,group\nDUR,g1\nASP,g1\n")
    body = json.loads(report(tmp_path, background(), "--peer-groups", str(groups)).read_text())
    assert (body["peer_groups"], body["peer_groups_source"]) == (
        "peer_groups",
        "source: most similar forces, date: 2025-10",
    )
    rows = {f["force"]: f for f in body["forces"]}
    assert rows["DUR"]["compliance_group"] == 0.5
    assert rows["CLEV"]["group"] is None
    assert rows["CLEV"]["compliance_group"] is None


def test_a_bad_peer_groups_file_names_its_line_and_writes_nothing(tmp_path: Path) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("force,group\nDUR,g1\nNOPE,g2\n")
    out = tmp_path / "report.json"
    result = run_cli(
        ["run", "--input", "-", "--report", str(out), "--peer-groups", str(groups)],
        jsonl(background()),
    )
    assert result.status == 2
    assert "line 3: unknown force 'NOPE'" in result.stderr
    assert not out.exists()
