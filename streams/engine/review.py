"""Review points (docs/contract.md section 14): every month end, judged on what was known then.

At a review point R the measures are those of section 9, 11 and 12 as of R,
from the events with `occurred_at` at or before R. Every fact a count needs as
of R is a time the case already holds (recorded, duty, deadline, the earliest
claim and receipt, the decision), so one pass over a force's cases gives its
counts at every review point: no event is read again, and nothing is kept per
review point between reports. A Kafka partition computes `review_counts` for
the forces it holds and publishes them; anyone combines every force's with
`review_rows`, one pure call per point, exactly as the report does.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from itertools import chain

from refmon.streams.engine.case import CaseState, DecisionRecord
from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.cusum import Step
from refmon.streams.engine.known_duty import KnownDuty
from refmon.streams.engine.months import next_month
from refmon.streams.engine.report import ForceRow, cross_force
from refmon.streams.engine.timeutil import MICROS_PER_DAY, from_micros, local_midnight


def review_points(first_event: int | None, as_of: int | None, zone: tzinfo) -> tuple[int, ...]:
    """The month ends (00:00 local on the 1st) after `first_event`, up to and at `as_of`."""
    if first_event is None or as_of is None or as_of <= first_event:
        return ()
    local = from_micros(first_event).astimezone(zone).date()
    month = next_month(local)
    points: list[int] = []
    while True:
        point = local_midnight(month, zone)
        if point > as_of:
            return tuple(points)
        if point > first_event:
            points.append(point)
        month = next_month(month)


def _referral_as_of(case: CaseState, at: int) -> int | None:
    """Section 6's referral time on what was known at `at`: a receipt, else a claim."""
    if case.received_at is not None and case.received_at <= at:
        return case.received_at
    if case.claim_at is not None and case.claim_at <= at:
        return case.claim_at
    return None


def _first(*times: int | None) -> int | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def review_counts(
    cases: Mapping[str, CaseState],
    points: Sequence[int],
    window_days: int,
    decided: Mapping[str, Sequence[DecisionRecord]] | None = None,
    retired: Mapping[str, CaseState] | None = None,
    known: Mapping[str, Sequence[KnownDuty]] | None = None,
) -> tuple[ForceCounts, ...]:
    """One force's section 9/11/12 counts as of each review point (no monthly series).

    `cases` by case id; `decided` holds every decision of the cases that had more
    than one (a case holds only its latest, which a review point may not know yet);
    `retired`: what retired cases still hold of the times above (the engine keeps it);
    `known`: the duty's steps of the few cases whose duty became known only after it
    arose (known_duty.py); every other case's duty is known from its own moment.
    """
    decided = decided or {}
    known = known or {}
    window = window_days * MICROS_PER_DAY
    size = len(points)
    # Range counts go to difference arrays: +1 where a case starts counting, -1 after.
    recorded, mandatory, voluntary = [0] * (size + 1), [0] * (size + 1), [0] * (size + 1)
    counts = [ForceCounts(as_of=point) for point in points]
    steps: list[dict[int, list[int]]] = [{} for _ in points]

    def span(lo_at: int, hi_at: int, into: list[int]) -> None:
        lo, hi = bisect_left(points, lo_at), bisect_left(points, hi_at)
        if lo < hi:
            into[lo] += 1
            into[hi] -= 1

    for case_id, case in chain(cases.items(), (retired or {}).items()):
        recorded_at = case.recorded_at
        if recorded_at is None:
            continue
        duties = _duties(case, known.get(case_id))
        # A review point from `known_from` on knows some duty (the mandatory span).
        known_from = duties[0].known_at if duties else None
        referred = _first(case.received_at, case.claim_at)
        end = recorded_at + window  # recorded in the window of R: recorded_at <= R < end
        span(recorded_at, end, recorded)
        if known_from is not None:
            span(max(recorded_at, known_from), end, mandatory)
        if referred is not None:
            until = end if known_from is None else min(end, known_from)
            span(max(recorded_at, referred), until, voluntary)
        if case.decision is not None and referred is not None:
            _decisions(case, decided.get(case_id, ()), points, counts, window, referred)
        if duties:
            _due(case, points, counts, steps, window, duties, recorded_at)
    running = [0, 0, 0]
    for index, c in enumerate(counts):
        running[0] += recorded[index]
        running[1] += mandatory[index]
        running[2] += voluntary[index]
        c.recorded, c.mandatory, c.voluntary = running
        c.timeliness = tuple(Step(d, n, x) for d, (n, x) in sorted(steps[index].items()))
    return tuple(counts)


def _duties(case: CaseState, known: Sequence[KnownDuty] | None) -> Sequence[KnownDuty]:
    """The duty's steps; the usual one: known from the moment it arose."""
    if known:
        return known
    if case.duty_at is None or case.deadline_at is None:
        return ()
    return (KnownDuty(case.duty_at, case.duty_at, case.deadline_at),)


def _decision_as_of(
    latest: DecisionRecord, history: Sequence[DecisionRecord], at: int
) -> DecisionRecord | None:
    """Section 12's decision on what was known at `at`: the latest made by then."""
    if latest.at_us <= at:
        return latest
    known = [d for d in history if d.at_us <= at]
    return max(known) if known else None


def _decisions(
    case: CaseState,
    history: Sequence[DecisionRecord],
    points: Sequence[int],
    counts: list[ForceCounts],
    window: int,
    referred: int,
) -> None:
    latest = case.decision
    assert latest is not None
    first = min((d.at_us for d in history), default=latest.at_us)
    last = max(t for t in (case.received_at, case.claim_at) if t is not None)
    start = max(first, referred)
    if case.recorded_at is not None:
        # Before its recording the case's events wait (section 7): nothing counts yet.
        start = max(start, case.recorded_at)
    for index in range(bisect_left(points, start), len(points)):
        point = points[index]
        if point >= last + window:
            break
        referral = _referral_as_of(case, point)
        decision = _decision_as_of(latest, history, point)
        if decision is not None and referral is not None and point - window < referral:
            counts[index].decisions[decision.decision] += 1


def _due(
    case: CaseState,
    points: Sequence[int],
    counts: list[ForceCounts],
    steps: list[dict[int, list[int]]],
    window: int,
    duties: Sequence[KnownDuty],
    recorded_at: int,
) -> None:
    # Mandatory as of R: recorded and a duty known by R; in R's window while
    # duty_at <= R < duty_at + window. A later step's duty is earlier (known_duty.py),
    # so once R is past one step's window it is past every later step's too.
    step_index = 0
    for index in range(bisect_left(points, max(duties[0].known_at, recorded_at)), len(points)):
        point = points[index]
        while step_index + 1 < len(duties) and duties[step_index + 1].known_at <= point:
            step_index += 1
        duty_at, deadline = duties[step_index].duty_at, duties[step_index].deadline
        if point >= duty_at + window:
            break
        c = counts[index]
        if deadline > point:
            c.pending += 1
            continue
        c.due += 1
        referral = _referral_as_of(case, point)
        step = steps[index].get(deadline)
        if step is None:
            step = steps[index][deadline] = [0, 0]
        step[0] += 1
        if referral is None:
            c.overdue += 1
            step[1] += 1
        elif referral < deadline:
            c.on_time += 1
        else:
            c.late += 1
            step[1] += 1


def review_rows(
    points: Sequence[int], counts: Mapping[str, Sequence[ForceCounts]]
) -> tuple[tuple[ForceRow, ...], ...]:
    """The cross-force rows at each review point, from every force's `review_counts`."""
    return tuple(
        cross_force({force: series[index] for force, series in counts.items()}, {})[0]
        for index in range(len(points))
    )
