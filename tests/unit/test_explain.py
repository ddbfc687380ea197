"""`refmon explain`: one case's timeline in event time, as the contract judges it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from refmon.cli import main
from refmon.environment import Environment
from tests.cli import run_cli
from tests.factories import decision, received, recorded, referred, updated
from tests.unit.test_clock import AHEAD, MER_DUTY, NOW, SERIOUS, run_at


def named(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {**event, "event_id": event_id}


# Arrival order: the update (line 3) arrives before the referral it follows in event time.
STORY = [
    named(recorded("2026-01-05T10:00:00Z", categories=["serious_assault"]), "rec-1"),
    named(recorded("2026-01-05T09:00:00Z", case="bystander", harm="death"), "secret-1"),
    named(updated("2026-01-09T10:00:00Z", categories=["use_of_force"], assessed=False), "upd-1"),
    named(referred("2026-01-08T09:00:00Z"), "ref-1"),
    named(received("2026-01-08T09:30:00Z"), "wd-1"),
    named(decision("2026-01-20T09:30:00Z", decision="local"), "wd-2"),
]


def _explain(tmp_path: Path, events: list[dict[str, Any]], *args: str) -> Any:
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    return run_cli(["explain", "--input", str(stream), *args])


def test_a_late_referral_a_downgrade_and_an_out_of_order_event_read_as_the_contract_says(
    tmp_path: Path,
) -> None:
    result = _explain(tmp_path, STORY, "--case", "DUR/c1", "--json")
    assert result.status == 0, result.stderr
    story = json.loads(result.stdout)
    steps = story["steps"]
    # Event time, not arrival: the referral (line 4) comes before the update (line 3).
    assert [(s["kind"], s.get("event_id")) for s in steps] == [
        ("event", "rec-1"),
        ("time", None),
        ("event", "ref-1"),
        ("event", "wd-1"),
        ("event", "upd-1"),
        ("event", "wd-2"),
    ]
    recorded_step, deadline, claim, receipt, update, verdict = steps
    assert recorded_step["changes"]["duty_arose_at"] == [None, "2026-01-05T10:00:00Z"]
    assert recorded_step["changes"]["duty_criteria"] == [[], ["serious_assault"]]
    # Due before 00:00 Europe/London on the second day after the duty's local date.
    assert recorded_step["changes"]["deadline"] == [None, "2026-01-07T00:00:00Z"]
    assert deadline["at"] == "2026-01-07T00:00:00Z"
    assert [(f["change"], f["kind"]) for f in deadline["findings"]] == [
        ("opened", "missed_referral")
    ]
    assert (claim["from"], claim["out_of_order_after"]) == ("line 4", "line 3")
    assert claim["changes"]["referral_by"] == [None, "force claim"]
    assert {(f["change"], f["kind"]) for f in claim["findings"]} == {
        ("opened", "late_referral"),
        ("resolved", "missed_referral"),
    }
    # The watchdog's receipt becomes the referral time (section 6): still late.
    assert receipt["changes"]["referral_at"] == ["2026-01-08T09:00:00Z", "2026-01-08T09:30:00Z"]
    assert receipt["changes"]["referral_by"] == ["force claim", "watchdog receipt"]
    assert update["changes"]["criteria_met"] == [["serious_assault"], []]
    assert "duty_arose_at" not in update["changes"]  # once arisen, the duty stays
    assert [(f["change"], f["kind"]) for f in update["findings"]] == [
        ("opened", "downgraded_after_duty")
    ]
    assert verdict["changes"] == {"decision": [None, "local"]}
    history = {f["kind"]: f for f in story["findings"]}
    assert history["missed_referral"]["status"] == "resolved"
    assert history["missed_referral"]["resolved_by"] == "case.referred ref-1 (line 4)"
    assert history["late_referral"]["opened_at"] == "2026-01-08T09:00:00Z"
    assert history["downgraded_after_duty"]["status"] == "open"
    # Nothing of the other case appears.
    assert "bystander" not in result.stdout
    assert "secret-1" not in result.stdout


def test_the_text_names_each_change_in_words(tmp_path: Path) -> None:
    result = _explain(tmp_path, STORY, "--case", "DUR/c1")
    assert result.status == 0
    text = result.stdout
    assert "2026-01-07 00:00 GMT  time passed" in text
    assert "opened missed_referral: DUR case c1 met serious_assault" in text
    assert "arrived out of order, after line 3 which happened later" in text
    assert "its facts meet no criterion; the force assessed it as not mandatory" in text
    assert "resolved 2026-01-08 09:00 GMT by case.referred ref-1 (line 4)" in text
    assert "bystander" not in text


def test_a_duty_through_a_linked_case_names_that_case_by_its_id_only(tmp_path: Path) -> None:
    events = [
        named(recorded("2026-02-02T10:00:00Z", case="a", linked=["b"]), "a-1"),
        named(recorded("2026-02-03T08:00:00Z", case="b", categories=["serious_corruption"]), "b-1"),
        named(referred("2026-02-03T09:00:00Z", case="a"), "a-2"),
    ]
    result = _explain(tmp_path, events, "--case", "DUR/a", "--json")
    story = json.loads(result.stdout)
    linked = [s for s in story["steps"] if s["kind"] == "linked"]
    assert [s["linked_case"] for s in linked] == ["b"]
    assert linked[0]["changes"]["through_linked"] == [[], ["b"]]
    assert linked[0]["changes"]["duty_criteria"] == [[], ["same_incident"]]
    assert "b-1" not in result.stdout
    assert "serious_corruption" not in result.stdout


def test_an_unknown_case_or_a_malformed_case_is_a_usage_error(tmp_path: Path) -> None:
    missing = _explain(tmp_path, STORY, "--case", "DUR/nope")
    assert (missing.status, missing.stderr.count("\n")) == (2, 1)
    assert "no valid event of this case" in missing.stderr
    assert _explain(tmp_path, STORY, "--case", "c1").status == 2


def test_explain_caps_the_clock_at_when_it_read_its_input_as_run_does(tmp_path: Path) -> None:
    """docs/contract.md section 13: an event dated ahead moves the clock only to when it was
    received. Before, explain replayed without received times and passed a deadline that
    `refmon run` on the same input at the same moment had not."""

    events = [named(recorded(MER_DUTY, case="m1", force="MER", **SERIOUS), "m1-rec")]
    events.append(named(recorded(AHEAD), "ahead"))  # another force's event, dated ahead
    ran = run_at(NOW, events, tmp_path)
    assert [f for f in ran["found"] if f["force"] == "MER"] == []  # not yet due
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=out, stderr=err, stderr_isatty=False, wall_clock=lambda: NOW / 1_000_000
    )
    status = main(["explain", "--input", str(stream), "--case", "MER/m1", "--json"], env)
    assert status == 0, err.getvalue()
    story = json.loads(out.getvalue())
    assert story["as_of"] == ran["as_of"]
    assert story["findings"] == []
