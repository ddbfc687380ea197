"""Ruleset files are validated on load: a broken rule never judges a case."""

from __future__ import annotations

import copy
import tomllib
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from refmon.streams.engine import RulesetError, parse_ruleset
from refmon.streams.rulesets import available, load_ruleset

SHIPPED: dict[str, Any] = tomllib.loads(
    files("refmon.streams.rulesets").joinpath("ew-2020.1.toml").read_text("utf-8")
)


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return data


def test_the_shipped_ruleset_loads_with_every_contract_criterion() -> None:
    ruleset = load_ruleset("ew-2020.1")
    assert available() == ("ew-2020.1",)
    assert len(ruleset.criteria) == 9
    assert ruleset.unconfirmed_after_us == 48 * 3_600_000_000
    assert str(ruleset.zone) == "Europe/London"
    assert ruleset.linked_bit == ruleset.criterion("same_incident").bit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(extra=1), "unknown key"),
        (lambda d: d.update(criteria=[]), "non-empty list"),
        (lambda d: d["criteria"].append(d["criteria"][0]), "defined twice"),
        (lambda d: d["criteria"][0].update(id="vibes"), "not a criterion id"),
        (lambda d: d["criteria"][0].update(when={"case_kind_in": ["grievance"]}), "grievance"),
        (lambda d: d["criteria"][0].update(when={"colour_in": ["red"]}), "unknown condition"),
        (lambda d: d["criteria"][0].update(when={}), "non-empty table"),
        (
            lambda d: d["criteria"][0].update(when={"subject_is_chief_officer": False}),
            "only `true`",
        ),
        (lambda d: d["criteria"][0].update(title=""), "title"),
        (
            lambda d: d["criteria"][0].update(
                when={"any_allegation_offence_max_sentence_years_at_least": -1}
            ),
            ">= 0",
        ),
        (
            lambda d: d["criteria"][8].update(
                when={"linked_case_mandatory": True, "harm_in": ["death"]}
            ),
            "cannot be combined",
        ),
        (lambda d: d.update(deadline_timezone="Mars/Olympus"), "deadline_timezone"),
        (lambda d: d.update(deadline_days_after=-1), "deadline_days_after"),
    ],
)
def test_a_broken_ruleset_is_refused_with_a_reason(change: Any, message: str) -> None:
    with pytest.raises(RulesetError, match=message):
        parse_ruleset(broken(change), ZoneInfo)


def test_an_unknown_ruleset_id_is_refused() -> None:
    with pytest.raises(RulesetError, match="unknown ruleset"):
        load_ruleset("ew-1999.1")
