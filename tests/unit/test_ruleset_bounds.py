"""A ruleset's id and numbers are checked on load: nothing from the file can flood a
findings file, drive a terminal, or overflow a deadline half-way through a run."""

from __future__ import annotations

import copy
import json
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from refmon.streams.engine import RulesetError, parse_ruleset

from tests.cli import run_cli
from tests.factories import allegation, recorded

SHIPPED: dict[str, Any] = tomllib.loads(
    files("refmon.streams.rulesets").joinpath("ew-2020.1.toml").read_text("utf-8")
)
SENTENCE = "any_allegation_offence_max_sentence_years_at_least"


def changed(**top: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    data.update(top)
    return data


def with_threshold(value: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    next(c for c in data["criteria"] if c["id"] == "relevant_offence")["when"] = {SENTENCE: value}
    return data


@pytest.mark.parametrize(
    "bad_id",
    ["", "x" * 65, "a\x1b]0;pwned\x07", "with space", "x" * 1_000_000, "ruleset/1", "é"],
)
def test_a_ruleset_id_outside_the_event_id_charset_is_refused(bad_id: str) -> None:
    with pytest.raises(RulesetError, match=r"id must be 1-64 characters") as caught:
        parse_ruleset(changed(id=bad_id), ZoneInfo)
    assert "\x1b" not in str(caught.value)
    assert len(str(caught.value)) < 200


def test_a_ruleset_id_of_64_event_id_characters_is_accepted() -> None:
    ruleset_id = "A-z_0.9:" * 8
    assert parse_ruleset(changed(id=ruleset_id), ZoneInfo).id == ruleset_id


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (changed(deadline_days_after=3_000_000), "deadline_days_after"),
        (changed(deadline_days_after=367), "deadline_days_after"),
        (changed(unconfirmed_after_hours=10**12), "unconfirmed_after_hours"),
        (with_threshold(float("nan")), SENTENCE),
        (with_threshold(float("inf")), SENTENCE),
        (with_threshold(1e300), SENTENCE),
        (with_threshold(101), SENTENCE),
    ],
)
def test_every_number_in_a_ruleset_is_bounded_and_finite(data: dict[str, Any], field: str) -> None:
    with pytest.raises(RulesetError, match=field):
        parse_ruleset(data, ZoneInfo)


def test_the_largest_bounds_still_judge() -> None:
    ruleset = parse_ruleset(
        with_threshold(100) | {"deadline_days_after": 366, "unconfirmed_after_hours": 8784},
        ZoneInfo,
    )
    assert ruleset.deadline_days_after == 366


def test_a_control_character_in_an_unknown_value_is_escaped_in_the_message() -> None:
    data = copy.deepcopy(SHIPPED)
    data["criteria"][0]["when"] = {"case_kind_in": ["\x1b[2J"]}
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(data, ZoneInfo)
    assert "\x1b" not in str(caught.value)
    assert "\\x1b[2J" in str(caught.value)


def _toml(tmp_path: Path, text: str) -> Path:
    source = files("refmon.streams.rulesets").joinpath("ew-2020.1.toml").read_text("utf-8")
    path = tmp_path / "what-if.toml"
    own = source.replace('id = "ew-2020.1"', 'id = "what-if"', 1)
    path.write_text(own.replace(*text.split("|")))
    return path


@pytest.mark.parametrize(
    "edit",
    [
        "deadline_days_after = 1|deadline_days_after = 3000000",
        'id = "what-if"|id = "\\u001b[2J\\u001b]0;title\\u0007flagged: none"',
        "at_least = 7|at_least = nan",
        "at_least = 7|at_least = inf",
    ],
)
def test_run_refuses_an_unbounded_ruleset_with_status_2_and_one_clean_line(
    tmp_path: Path, edit: str
) -> None:
    stream = tmp_path / "events.jsonl"
    event = recorded("2026-01-05T10:00:00Z", allegations=[allegation("serious_assault")])
    stream.write_text(json.dumps(event) + "\n")
    path = _toml(tmp_path, edit)
    result = run_cli(["run", "--input", str(stream), "--ruleset", str(path), "-q"])
    assert result.status == 2
    assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stderr
    assert result.stderr.startswith("refmon: error: --ruleset")
