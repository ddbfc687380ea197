"""`refmon simulate --inflate`: fabricated non-mandatory cases on top of an unchanged stream."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from tests.cli import run_cli

BASE = ["simulate", "--days", "40", "--scale", "0.2", "--seed", "2", "-q"]


def events(stdout: str) -> dict[str, tuple[datetime, str]]:
    """By id, each event's instant and content (how a time is written is delivery noise)."""
    found = {}
    for line in stdout.splitlines():
        event = json.loads(line)
        at = datetime.fromisoformat(event.pop("occurred_at"))
        found[event["event_id"]] = (at, json.dumps(event, sort_keys=True))
    return found


def test_inflating_adds_fabricated_cases_and_leaves_every_real_event_as_it_was() -> None:
    plain = events(run_cli(BASE).stdout)
    inflated = events(run_cli([*BASE, "--inflate", "DUR:2025-01-11:5"]).stdout)
    assert {k: v for k, v in inflated.items() if k in plain} == plain
    extra = [json.loads(v[1]) | {"at": v[0]} for k, v in inflated.items() if k not in plain]
    assert len(extra) > 20
    assert {(e["force"], e["event_type"]) for e in extra} == {("DUR", "case.recorded")}
    assert {e["payload"]["force_assessment"]["mandatory"] for e in extra} == {False}
    days = {e["at"].date() for e in extra}
    assert min(days) >= date(2025, 1, 11)
    assert max(days) < date(2025, 2, 10)


@pytest.mark.parametrize(
    "value", ["DUR:2025-01-11:1", "DUR:2025-01-11", "XXX:2025-01-11:3", "DUR:jan:3", "DUR::3:4"]
)
def test_an_unusable_inflation_is_a_usage_error(value: str) -> None:
    result = run_cli([*BASE, "--inflate", value])
    assert result.status == 2
    assert result.stderr.count("\n") == 1
    assert "--inflate" in result.stderr
