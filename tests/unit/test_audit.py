"""Secondary suppression (`audit.protect`) on hand-built figures."""

from __future__ import annotations

from refmon.bulletin.audit import Key, Ratio, Relation, pinned, protect
from refmon.bulletin.disclosure import SECONDARY, SUPPRESSED, Value

BELOW, BASE = 8, 5


def _months(force: str, values: list[Value]) -> dict[Key, Value]:
    return {("month", force, f"2025-{m:02}", "late"): v for m, v in enumerate(values, 1)}


def test_a_suppressed_total_over_suppressed_months_and_zeros_is_widened_not_refused() -> None:
    # Leicestershire in the seed-3 year: seven months of "<8" late under a year of "<8" and
    # five zeros. 7 parts of at least 1 under a whole of at most 7: each month is 1, and no
    # figure in the relation is shown to withhold.
    months = _months("LEIC", [0, 0, 0, *[SUPPRESSED] * 2, 0, 0, *[SUPPRESSED] * 5])
    own = ("force", "LEIC", "")
    whole, due, on_time, overdue = ((*own, c) for c in ("late", "due", "on_time", "overdue"))
    pct = (*own, "compliance_pct")
    counts: dict[Key, Value] = {whole: SUPPRESSED, **months}
    counts |= {due: SECONDARY, on_time: SECONDARY, overdue: 0}
    rates: dict[Key, Value] = {pct: SUPPRESSED}  # "[c]": on_time or late + overdue is 1 to 7
    relations = [
        Relation(whole, tuple(months)),
        Relation(due, (on_time, whole, overdue)),
        Ratio(on_time, due, pct),
    ]
    assert len(pinned(counts, rates, relations, BELOW, BASE)) == 8
    withheld: list[Key] = []

    protect(counts, rates, relations, BELOW, BASE, withheld.append)

    # One count, the total (its "<8" is what pinned the months), and the rate whose "[c]"
    # would say so again.
    assert sorted(withheld) == sorted([whole, pct])
    assert counts[whole] == SECONDARY
    assert rates[pct] == SECONDARY
    assert pinned(counts, rates, relations, BELOW, BASE) == {}


def test_a_shown_figure_is_still_withheld_before_any_suppressed_one_is_widened() -> None:
    # 150 = 145 + 10 + x: x is at most 1, and the largest shown figure goes.
    whole: Key = ("total",)
    parts: tuple[Key, ...] = (("a",), ("b",), ("c",))
    counts: dict[Key, Value] = {whole: 150, parts[0]: 145, parts[1]: 10, parts[2]: SUPPRESSED}
    withheld: list[Key] = []

    protect(counts, {}, [Relation(whole, parts)], BELOW, BASE, withheld.append)

    assert withheld == [whole]
    assert counts[parts[2]] == SUPPRESSED


def test_a_count_closed_with_nothing_in_its_own_relations_to_withhold_is_opened_further_out() -> (
    None
):
    # x = t - s, all three already withheld; but a rate pins t at 3 (3 % of 100) and u = s + v
    # with u = 0 pins s at 0, so x is 3. Nothing near x is left: the rate one step out goes.
    x, t, s, v, u, n, pct = ("x",), ("t",), ("s",), ("v",), ("u",), ("n",), ("t_pct",)
    counts: dict[Key, Value] = {x: SECONDARY, t: SECONDARY, s: SECONDARY, v: SECONDARY, u: 0}
    counts[n] = 100
    rates: dict[Key, Value] = {pct: 3}
    constraints = [Relation(t, (x, s)), Ratio(t, n, pct), Relation(u, (s, v))]
    assert pinned(counts, rates, constraints, BELOW, BASE).keys() == {x, t}
    withheld: list[Key] = []

    protect(counts, rates, constraints, BELOW, BASE, withheld.append)

    assert withheld == [pct]
    assert pinned(counts, rates, constraints, BELOW, BASE) == {}
