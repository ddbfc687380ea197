"""`refmon simulate | refmon run` over a national year: who is flagged, and exact counts."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from refmon.schemas.types import parse_timestamp
from refmon.streams.engine.timeutil import end_of_following_day, to_micros

from tests.cli import run_cli

pytestmark = pytest.mark.slow

UNDER_REFERRING = ("DUR", "LINCS")
# A national year; the noisy variant adds delivery noise to the very same events.
SIMULATE = ["simulate", "--days", "365", "--seed", "7", "--under-refer", ",".join(UNDER_REFERRING)]


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "events.jsonl"
    result = run_cli(
        [
            *SIMULATE,
            "--output",
            str(path),
            "-q",
        ]
    )
    assert result.status == 0
    return path


@pytest.fixture(scope="module")
def report(stream: Path) -> dict[str, Any]:
    result = run_cli(["run", "--input", str(stream), "-q"])
    assert result.status == 0
    return json.loads(result.stdout)


def test_the_two_under_referring_forces_and_no_other_are_flagged_on_compliance(
    report: dict[str, Any],
) -> None:
    flagged = {r["force"] for r in report["forces"] if r["compliance_status"] in {"alert", "alarm"}}
    assert flagged == set(UNDER_REFERRING)
    for row in report["forces"]:
        if row["force"] in UNDER_REFERRING:
            assert row["compliance_status"] == "alarm"
            assert row["compliance"] < 0.7
        else:
            assert row["compliance"] > 0.85


def test_a_shuffled_stream_gives_a_byte_identical_report(stream: Path, tmp_path: Path) -> None:
    lines = stream.read_bytes().splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_bytes(b"".join(lines))
    original, again = (run_cli(["run", "--input", str(p), "-q"]) for p in (stream, shuffled))
    assert again.stdout == original.stdout


def _counts_from_scratch(stream: Path, as_of: int, window_days: int) -> dict[str, Counter[str]]:
    """Section 9's counts re-derived from the raw events, for a stream whose facts never change.

    The simulator's cases only ever become more serious and link one way, so the
    duty is the earliest fact event meeting a criterion or declaring a link to one.
    """
    serious = {
        "serious_assault",
        "serious_sexual_offence",
        "serious_corruption",
        "abuse_of_position_sexual_purpose",
        "abuse_of_position_emotional_relationship",
    }
    cases: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for line in stream.read_text().splitlines():
        e = json.loads(line)
        c = cases[(e["force"], e["case_id"])]
        at = to_micros(parse_timestamp(e["occurred_at"]))
        kind = e["event_type"]
        if kind in ("case.recorded", "case.updated"):
            p = e["payload"]
            meets = (
                p["case_kind"] == "dsi_matter"
                or p["harm"] in ("serious_injury", "death")
                or p.get("subject_is_chief_officer", False)
                or any(
                    a["category"] in serious
                    or a.get("aggravated_by_discrimination")
                    or (a.get("offence_max_sentence_years") or 0) >= 7
                    for a in p["allegations"]
                )
            )
            if kind == "case.recorded":
                c["recorded"] = at
            if meets:
                c["own"] = min(c.get("own", at), at)
            for other in p.get("linked_case_ids", []):
                c.setdefault("links", []).append((at, other))
        elif kind == "case.referred":
            c["claim"] = min(c.get("claim", at), at)
        elif kind == "referral.received":
            c["received"] = min(c.get("received", at), at)
    start = as_of - window_days * 86_400_000_000
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    for (force, _), c in cases.items():
        if "recorded" not in c:
            continue
        duties = [c["own"]] if "own" in c else []
        duties += [
            max(at, cases[(force, o)]["own"])
            for at, o in c.get("links", ())
            if "own" in cases.get((force, o), {}) and "recorded" in cases[(force, o)]
        ]
        duty = min(duties) if duties else None
        referral = c.get("received", c.get("claim"))
        if start < c["recorded"] <= as_of:
            counts[force]["recorded"] += 1
            counts[force][
                "mandatory" if duty is not None else "voluntary" if referral else "neither"
            ] += 1
        if duty is not None and start < duty <= as_of:
            deadline = end_of_following_day(duty, london)
            state = (
                "pending"
                if deadline > as_of
                else "overdue"
                if referral is None
                else "on_time"
                if referral < deadline
                else "late"
            )
            counts[force][state] += 1
    return counts


def test_per_force_counts_are_exactly_those_the_contract_defines(
    stream: Path, report: dict[str, Any]
) -> None:
    as_of = to_micros(parse_timestamp(report["as_of"]))
    expected = _counts_from_scratch(stream, as_of, report["window_days"])
    for row in report["forces"]:
        want = expected[row["force"]]
        got = {
            k: row[k]
            for k in ("recorded", "mandatory", "voluntary", "on_time", "late", "overdue", "pending")
        }
        assert got == {k: want[k] for k in got}, row["force"]
        assert row["due"] == want["on_time"] + want["late"] + want["overdue"]
    assert report["events"]["invalid"] == 0
    assert report["events"]["duplicate"] == 0
    assert datetime.fromisoformat(report["as_of"]).year == 2025


def test_noise_lands_in_the_dead_letters_and_changes_no_count(
    stream: Path, tmp_path: Path, report: dict[str, Any]
) -> None:
    noisy = tmp_path / "noisy.jsonl"
    assert (
        run_cli(
            [
                *SIMULATE,
                "--duplicates",
                "0.02",
                "--invalid",
                "0.002",
                "--disorder-hours",
                "12",
                "--output",
                str(noisy),
                "-q",
            ]
        ).status
        == 0
    )
    dead = tmp_path / "dead.jsonl"
    result = run_cli(["run", "--input", str(noisy), "--dead-letter", str(dead), "-q"])
    again = json.loads(result.stdout)
    assert again["events"]["duplicate"] > 1000
    assert again["forces"] == report["forces"]
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert len(letters) == again["events"]["invalid"] > 100
    assert {d["reason"] for d in letters} >= {
        "not_json",
        "unknown_field",
        "unknown_force",
        "naive_timestamp",
        "not_object",
        "invalid_utf8",
    }


def test_the_summary_table_lists_flagged_forces_first(stream: Path) -> None:
    result = run_cli(["run", "--input", str(stream), "--report", "/dev/null"])
    rows = [line.split()[0] for line in result.stderr.splitlines()[2:46]]
    assert sorted(rows[:2]) == sorted(UNDER_REFERRING)
    assert len(set(rows)) == 44
    assert "flagged: " in result.stderr
