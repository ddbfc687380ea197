"""The timeliness CUSUM (docs/contract.md section 11) against values worked by hand.

The national figures are chosen so that p0 = 1 - 48/64 = 0.25 exactly. With the
odds ratio 2, p1 = 0.5 / 1.25 = 0.4, so a late or overdue case weighs
ln(0.4 / 0.25) = ln 1.6 = 0.4700036292 and an on-time one
ln(0.6 / 0.75) = -ln 1.25 = -0.2231435513.
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest
from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.cusum import H, Parameters, Step, parameters, path, timeliness
from refmon.streams.engine.deterioration import deterioration_findings
from refmon.streams.engine.report import cross_force
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import FindingKind

LATE = math.log(1.6)
ON_TIME = -math.log(1.25)
DAY = MICROS_PER_DAY
D1, D2, D3, D4, D5 = (100 * DAY + i * DAY for i in range(1, 6))
# Force B: 20 due, 16 late or overdue. The third step is six cases sharing one deadline.
B_STEPS = (Step(D1, 4, 4), Step(D2, 2, 0), Step(D3, 6, 6), Step(D4, 4, 4), Step(D5, 4, 2))
NO_FINDINGS: dict[tuple[str, FindingKind], int] = {}


def counts(due: int, late: int, steps: tuple[Step, ...], as_of: int) -> ForceCounts:
    return ForceCounts(due=due, on_time=due - late, late=late, timeliness=steps, as_of=as_of)


def national(as_of: int) -> dict[str, ForceCounts]:
    """p0 = 16 / 64 = 0.25: B as above, A 40 on time, C only 4 due."""
    return {
        "A": counts(40, 0, (Step(D1, 20, 0), Step(D3, 20, 0)), as_of),
        "B": counts(20, 16, B_STEPS, as_of),
        "C": counts(4, 0, (Step(D2, 4, 0),), as_of),
    }


def test_the_parameters_double_the_odds_of_the_national_late_rate() -> None:
    params = parameters(64, 48 / 64)
    assert params == Parameters(0.25, pytest.approx(0.4), H)
    assert params is not None
    on_time, late = params.weights
    assert late == pytest.approx(0.4700036292)
    assert on_time == pytest.approx(-0.2231435513)


def test_cases_sharing_a_deadline_are_one_step_and_a_signal_resets_the_chart() -> None:
    params = parameters(64, 0.75)
    assert params is not None
    points = list(path(B_STEPS, params))
    s1 = 4 * LATE  # 1.8800145
    s2 = s1 + 2 * ON_TIME  # 1.4337274
    s3 = s2 + 6 * LATE  # 4.2537492: the six tied cases move S at once
    s4 = s3 + 4 * LATE  # 6.1337637 >= 6: a signal, and S starts again from 0
    s5 = 0 + 2 * LATE + 2 * ON_TIME  # 0.4937201
    assert s4 >= H
    assert [p.cusum for p in points] == pytest.approx([s1, s2, s3, 0.0, s5])
    assert [p.signal for p in points] == [False, False, False, True, False]


def test_a_step_is_judged_as_a_whole_not_case_by_case() -> None:
    # From S = 12 x 0.47 = 5.64, three late and three on-time cases with one deadline
    # make one signal at that deadline (S = 6.38), whatever order the cases came in;
    # case by case, a late one first would signal and reset mid-step, and end elsewhere.
    params = Parameters(0.25, 0.4, H)
    steps = [Step(D1, 12, 12), Step(D2, 6, 3)]
    start = 12 * LATE
    assert start < H <= start + 3 * LATE + 3 * ON_TIME
    points = list(path(steps, params))
    assert [p.signal for p in points] == [False, True]
    assert points[-1].cusum == 0.0


def test_s_never_goes_below_zero() -> None:
    params = Parameters(0.25, 0.4, H)
    points = list(path([Step(D1, 10, 0), Step(D2, 1, 1)], params))
    assert [p.cusum for p in points] == pytest.approx([0.0, LATE])


def test_the_report_rows_carry_the_chart_and_the_national_block_its_parameters() -> None:
    as_of = D5 + 10 * DAY
    rows, nat = cross_force(national(as_of), NO_FINDINGS)
    by = {r.force: r for r in rows}
    assert (nat.timeliness_p0, nat.timeliness_p1, nat.timeliness_h) == (
        0.25,
        pytest.approx(0.4),
        6.0,
    )
    b = by["B"]
    assert b.timeliness_cusum == pytest.approx(2 * LATE + 2 * ON_TIME)
    assert (b.timeliness_signals, b.timeliness_signalled_at, b.timeliness_status) == (
        1,
        D4,
        "signal",
    )
    assert b.open_findings["deterioration"] == 1
    a = by["A"]
    assert (a.timeliness_cusum, a.timeliness_signals, a.timeliness_status) == (0.0, 0, "ok")
    assert a.timeliness_signalled_at is None
    assert a.open_findings["deterioration"] == 0


def test_a_signal_counts_while_its_deadline_is_in_the_last_90_days_of_the_window() -> None:
    params = Parameters(0.25, 0.4, H)
    just_inside = timeliness(B_STEPS, 20, params, D4 + 90 * DAY - 1)
    on_the_edge = timeliness(B_STEPS, 20, params, D4 + 90 * DAY)
    assert just_inside.status == "signal"
    assert (on_the_edge.status, on_the_edge.signals, on_the_edge.signalled_at) == ("ok", 1, D4)


def test_under_five_due_at_a_force_is_insufficient_data_with_null_fields() -> None:
    rows, _ = cross_force(national(D5 + DAY), NO_FINDINGS)
    c = next(r for r in rows if r.force == "C")
    assert (c.timeliness_cusum, c.timeliness_signals, c.timeliness_signalled_at) == (None,) * 3
    assert c.timeliness_status == "insufficient_data"


@pytest.mark.parametrize(
    ("due", "on_time"),
    [(4, 0), (40, 40), (40, 0)],
    ids=["national due under 5", "p0 is 0: all on time", "p0 is 1: none on time"],
)
def test_no_force_is_charted_without_a_usable_national_rate(due: int, on_time: int) -> None:
    steps = (Step(D1, due, due - on_time),)
    rows, nat = cross_force({"A": counts(due, due - on_time, steps, D5)}, NO_FINDINGS)
    assert rows[0].timeliness_status == "insufficient_data"
    assert parameters(due, on_time / due) is None
    assert nat.timeliness_p0 == pytest.approx(1 - on_time / due)


def test_nothing_due_nationally_leaves_the_parameters_null() -> None:
    _, nat = cross_force({"A": ForceCounts(as_of=D5)}, NO_FINDINGS)
    assert (nat.timeliness_p0, nat.timeliness_p1, nat.timeliness_h) == (None, None, 6.0)


def test_a_signalling_force_has_an_open_force_level_finding_that_resolves_after_90_days() -> None:
    london = ZoneInfo("Europe/London")
    rows, _ = cross_force(national(D5 + DAY), NO_FINDINGS)
    (found,) = deterioration_findings(rows, "ew-2020.1", london)
    assert (found.kind, found.status, found.force, found.case_id) == (
        "deterioration",
        "open",
        "B",
        None,
    )
    assert (found.criteria, found.duty_arose_at, found.deadline) == ((), None, None)
    assert (found.detected_at, found.ruleset) == (D4, "ew-2020.1")
    assert (found.duty_event_id, found.referral_event_id) == (None, None)
    later, _ = cross_force(national(D4 + 200 * DAY), NO_FINDINGS)
    (resolved,) = deterioration_findings(later, "ew-2020.1", london)
    assert resolved.status == "resolved"
    assert resolved.finding_id == found.finding_id  # stable per force
