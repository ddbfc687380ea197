"""The duty kept up to date version by version equals the duty derived from scratch.

The engine derives a case's duty incrementally so that an update costs the
distance to the duty, not the case's whole history (issue 9); these properties
hold it to the from-scratch definition of docs/contract.md section 5 for any
insertion order, ties at one instant and links to other cases included. The
duty includes its evidence (section 8), the version in force at that moment,
so the comparisons cover it too.
"""

from __future__ import annotations

from bisect import bisect_right

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine.case import (
    NO_DUTY,
    Duty,
    FactVersion,
    duty,
    duty_after_insert,
    duty_relinked,
)

LINKED_BIT = 1 << 8
OTHERS = ("x", "y")

versions_st = st.lists(
    st.builds(
        lambda at, rank, mask, links: (at, rank, mask, links),
        st.integers(0, 12),
        st.integers(0, 1),
        st.sampled_from([0, 0, 1, 2]),
        st.lists(st.sampled_from(OTHERS), max_size=2, unique=True).map(tuple),
    ),
    min_size=1,
    max_size=25,
)
others_st = st.fixed_dictionaries({o: st.none() | st.integers(0, 14) for o in OTHERS})


def _versions(raw: list[tuple[int, int, int, tuple[str, ...]]]) -> list[FactVersion]:
    return [
        FactVersion(at, rank, f"e{i:03d}", mask, False, links)
        for i, (at, rank, mask, links) in enumerate(raw)
    ]


@settings(max_examples=400, deadline=None)
@given(versions_st, others_st)
def test_inserting_versions_in_any_order_gives_the_duty_from_scratch(
    raw: list[tuple[int, int, int, tuple[str, ...]]], others: dict[str, int | None]
) -> None:
    lookup = others.get
    held: list[FactVersion] = []
    current: Duty = NO_DUTY
    for version in _versions(raw):
        index = bisect_right(held, version)
        held.insert(index, version)
        current = (
            duty(held, lookup, LINKED_BIT)
            if len(held) == 1
            else duty_after_insert(held, index, current, lookup, LINKED_BIT)
        )
        assert current == duty(held, lookup, LINKED_BIT)


def _in_force(held: list[FactVersion], at: int) -> FactVersion:
    """The version whose facts are the case's at `at`: the last in sort order starting by then."""
    return [v for v in held if v.at_us <= at][-1]


@settings(max_examples=300, deadline=None)
@given(versions_st, others_st)
def test_the_duty_event_is_the_version_in_force_when_the_duty_arose(
    raw: list[tuple[int, int, int, tuple[str, ...]]], others: dict[str, int | None]
) -> None:
    held = sorted(_versions(raw))
    arose = duty(held, others.get, LINKED_BIT)
    if arose.at is None:
        assert arose.event_id is None
    else:
        assert arose.event_id == _in_force(held, arose.at).event_id


@settings(max_examples=300, deadline=None)
@given(versions_st, others_st, others_st)
def test_a_linked_case_whose_own_duty_moves_gives_the_duty_from_scratch(
    raw: list[tuple[int, int, int, tuple[str, ...]]],
    before: dict[str, int | None],
    after: dict[str, int | None],
) -> None:
    held = sorted(_versions(raw))
    old = duty(held, before.get, LINKED_BIT)
    assert duty_relinked(held, old, after.get, LINKED_BIT) == duty(held, after.get, LINKED_BIT)


def test_a_version_at_the_instant_of_the_one_that_met_a_criterion_replaces_it() -> None:
    first = FactVersion(5, 1, "a", 1, False, ())
    later = FactVersion(9, 1, "c", 1, False, ())
    held = [first, later]
    old = duty(held, {}.get, LINKED_BIT)
    assert (old.own_at, old.at) == (5, 5)
    replacing = FactVersion(5, 1, "b", 0, False, ())  # sorts after `first`: in force at 5
    held.insert(1, replacing)
    new = duty_after_insert(held, 1, old, {}.get, LINKED_BIT)
    assert (new.own_at, new.at) == (9, 9)
