"""Peer groups and the same period last year (docs/contract.md section 15), read by hand."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest
from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.peers import PeerGroups, compare, one_year_before
from refmon.streams.engine.timeutil import format_utc
from refmon.streams.peer_groups import PeerGroupsError, parse_peer_groups

from tests.factories import judge, micros, received, recorded

LONDON = ZoneInfo("Europe/London")
KNOWN = frozenset({"DUR", "CLEV", "NBR", "ASP"})


def compliance(on_time: int, due: int) -> ForceCounts:
    return ForceCounts(due=due, on_time=on_time)


def test_group_means_are_unweighted_over_members_that_have_the_measure() -> None:
    now = {"DUR": compliance(8, 10), "CLEV": compliance(1, 2), "NBR": compliance(0, 0)}
    found = compare(now, {}, PeerGroups({"DUR": "ne", "CLEV": "ne", "NBR": "ne"}))
    # NBR has no compliance (nothing due): the mean is of 0.8 and 0.5.
    assert found["DUR"].measures["compliance"].group == pytest.approx(0.65)
    assert found["NBR"].measures["compliance"].group == pytest.approx(0.65)
    assert found["DUR"].group == "ne"


def test_change_and_its_pooled_z_against_last_year() -> None:
    found = compare({"DUR": compliance(8, 10)}, {"DUR": compliance(4, 10)}, PeerGroups({}))
    c = found["DUR"].measures["compliance"]
    assert c.group is None
    assert c.last_year == pytest.approx(0.4)
    assert c.change == pytest.approx(0.4)
    # p = 12/20 = 0.6; z = 0.4 / sqrt(0.6 * 0.4 * (1/10 + 1/10)).
    assert c.change_z == pytest.approx(0.4 / math.sqrt(0.048))
    assert c.change_significant is False
    strong = compare({"DUR": compliance(19, 20)}, {"DUR": compliance(5, 20)}, PeerGroups({}))
    assert strong["DUR"].measures["compliance"].change_significant is True


def test_change_fields_are_null_under_five_or_at_p_zero_or_one() -> None:
    small = compare({"DUR": compliance(4, 4)}, {"DUR": compliance(1, 10)}, PeerGroups({}))
    c = small["DUR"].measures["compliance"]
    assert (c.last_year, c.change, c.change_z, c.change_significant) == (None,) * 4
    full = compare({"DUR": compliance(5, 5)}, {"DUR": compliance(6, 6)}, PeerGroups({}))
    c = full["DUR"].measures["compliance"]
    assert (c.last_year, c.change, c.change_z, c.change_significant) == (None,) * 4


def test_last_year_is_the_same_local_time_and_29_february_becomes_28() -> None:
    assert format_utc(one_year_before(micros("2025-07-01T12:00:00+01:00"), LONDON)) == (
        "2024-07-01T11:00:00Z"
    )
    assert format_utc(one_year_before(micros("2024-02-29T10:00:00Z"), LONDON)) == (
        "2023-02-28T10:00:00Z"
    )
    # Winter now, summer time never: 1 March 2025 00:00 GMT -> 1 March 2024 00:00 GMT.
    assert format_utc(one_year_before(micros("2025-03-01T00:00:00Z"), LONDON)) == (
        "2024-03-01T00:00:00Z"
    )


def test_the_report_counts_last_year_over_the_window_ending_a_year_before() -> None:
    events = []
    # Last year (window of 30 days ending 2024-06-30T12:00 BST): 5 due, 1 on time.
    for day in range(1, 6):
        events.append(recorded(f"2024-06-{day:02d}T10:00:00Z", case=f"ly{day}",
                               categories=["serious_assault"]))  # fmt: skip
    events.append(received("2024-06-01T12:00:00Z", case="ly1"))
    # This year: 5 due, 5 on time.
    for day in range(1, 6):
        events.append(recorded(f"2025-06-{day:02d}T10:00:00Z", case=f"ty{day}",
                               categories=["serious_assault"]))  # fmt: skip
        events.append(received(f"2025-06-{day:02d}T12:00:00Z", case=f"ty{day}"))
    report = judge(events, "2025-06-30T12:00:00+01:00").report(30)
    c = report.comparisons["DUR"].measures["compliance"]
    assert c.last_year == pytest.approx(0.2)
    assert c.change == pytest.approx(0.8)
    # p = 6/10; z = 0.8 / sqrt(0.24 * 0.4).
    assert c.change_z == pytest.approx(0.8 / math.sqrt(0.24 * 0.4))
    assert c.change_significant is True


def test_a_peer_groups_file_is_read_with_its_source_line() -> None:
    groups = parse_peer_groups("# source: HMICFRS MSF, date: 2025-01\nforce,group\nDUR,a\n", KNOWN)
    assert (dict(groups.groups), groups.source) == (
        {"DUR": "a"},
        "source: HMICFRS MSF, date: 2025-01",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,group\nDUR,a\n", "line 1: the header must be `force,group`"),
        ("force,group\nDUR,a\nDUR,b\n", "line 3: force DUR is listed twice"),
        ("# source: x\nforce,group\nDUR\n", "line 3: expected 2 fields, got 1"),
        ("force,group\nDUR,\n", "line 2: force DUR has an empty group"),
    ],
)
def test_a_bad_peer_groups_file_names_the_line(text: str, message: str) -> None:
    with pytest.raises(PeerGroupsError, match=message.replace("`", ".")):
        parse_peer_groups(text, KNOWN)
