"""What one force contributes to the cross-force view (docs/contract.md sections 9, 11, 12).

Everything `cross_force` needs from a force is here and nowhere else: a Kafka
worker publishes the counts of the forces it holds (`to_json`), and every
worker computes the same cross-force rows from everyone's (`from_json`).
Compact on purpose: the CUSUM's observations are one step per deadline instant
(deadlines are local midnights, so at most one a day), not one per case, and
the monthly series carry each month's referral delays as their median and 90th
percentile (a force's cases are all held by one worker, so nothing needs the
delays themselves across workers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, NamedTuple

from refmon.streams.engine.case import CaseState
from refmon.streams.engine.cusum import Step
from refmon.streams.engine.funnel import quantile_type7
from refmon.streams.engine.months import MonthSpan, month_of, month_spans
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import DECISION_KINDS, RETURNED_DECISIONS

_SCALARS = ("recorded", "mandatory", "voluntary", "due", "on_time", "late", "overdue", "pending")


class MonthCounts(NamedTuple):
    """One month of a force's series (`months.py` says what a month is)."""

    month: str
    """`YYYY-MM` in the ruleset's time zone."""
    start: int
    """Exclusive, clipped to the window."""
    end: int
    """Inclusive, clipped to the window."""
    partial: bool
    recorded: int = 0
    """By the recording time, as the window's `recorded`; so is `mandatory`."""
    mandatory: int = 0
    due: int = 0
    """By the time the duty arose, as the window's `due`; so are the four after it."""
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0
    referred: int = 0
    """Mandatory cases whose duty arose in the month that have a referral: the delays'
    count (a referral before the duty counts as no delay; overdue cases have none yet)."""
    delay_median_us: int | None = None
    delay_p90_us: int | None = None
    """R type-7 quantiles of those delays, to the microsecond; None without any."""

    def to_json(self) -> list[Any]:
        return list(self)

    @classmethod
    def from_json(cls, body: Sequence[Any]) -> MonthCounts:
        label, start, end, partial, *numbers = body
        r, m, d, o, lt, ov, p, ref, median, p90 = numbers
        return cls(
            month=str(label),
            start=int(start),
            end=int(end),
            partial=bool(partial),
            recorded=int(r),
            mandatory=int(m),
            due=int(d),
            on_time=int(o),
            late=int(lt),
            overdue=int(ov),
            pending=int(p),
            referred=int(ref),
            delay_median_us=None if median is None else int(median),
            delay_p90_us=None if p90 is None else int(p90),
        )


def no_decisions() -> dict[str, int]:
    """A count per decision value, all five keys, in the contract's order."""
    return dict.fromkeys(DECISION_KINDS, 0)


@dataclass(slots=True)
class ForceCounts:
    recorded: int = 0
    mandatory: int = 0
    voluntary: int = 0
    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0
    decisions: dict[str, int] = field(default_factory=no_decisions)
    """Cases referred in the window that have a decision, by their latest decision."""
    timeliness: tuple[Step, ...] = ()
    """The due cases as CUSUM steps, in deadline order."""
    as_of: int | None = None
    """The clock these were counted at: the end of the window (None: no clock yet)."""
    monthly: tuple[MonthCounts, ...] = ()
    """The window month by month; the months' counts add up to the window's."""

    @property
    def decided(self) -> int:
        return sum(self.decisions.values())

    @property
    def returned(self) -> int:
        return sum(n for d, n in self.decisions.items() if d in RETURNED_DECISIONS)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_json` reads it back to an equal value."""
        body: dict[str, Any] = {name: getattr(self, name) for name in _SCALARS}
        body["decisions"] = dict(self.decisions)
        body["timeliness"] = [list(step) for step in self.timeliness]
        body["as_of"] = self.as_of
        body["monthly"] = [month.to_json() for month in self.monthly]
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ForceCounts:
        """Read `to_json`'s output. Also reads `dataclasses.asdict` output, and older
        bodies without the decision, timeliness and monthly fields (as empty)."""
        decisions = no_decisions()
        decisions.update({str(k): int(v) for k, v in body.get("decisions", {}).items()})
        as_of = body.get("as_of")
        return cls(
            **{name: int(body[name]) for name in _SCALARS},
            decisions=decisions,
            timeliness=tuple(Step(*map(int, step)) for step in body.get("timeliness", ())),
            as_of=None if as_of is None else int(as_of),
            monthly=tuple(
                m if isinstance(m, MonthCounts) else MonthCounts.from_json(m)
                for m in body.get("monthly", ())
            ),
        )


def count_force(
    cases: Iterable[CaseState], as_of: int | None, window_days: int, zone: tzinfo
) -> ForceCounts:
    """One force's counts over the window (as_of - window_days, as_of], and month by month
    (calendar months in `zone`)."""
    counts = ForceCounts(as_of=as_of)
    if as_of is None:
        return counts
    start = as_of - window_days * MICROS_PER_DAY
    spans = month_spans(as_of, window_days, zone)
    ends = [span.end for span in spans]
    # Per month: recorded, mandatory, due, on_time, late, overdue, pending.
    months = [[0] * 7 for _ in spans]
    delays: list[list[int]] = [[] for _ in spans]
    steps: dict[int, list[int]] = {}
    decisions = counts.decisions
    for case in cases:
        if case.recorded_at is None:
            continue
        referral = case.referral_at
        if start < case.recorded_at <= as_of:
            month = months[month_of(ends, case.recorded_at)]
            counts.recorded += 1
            month[0] += 1
            if case.duty_at is not None:
                counts.mandatory += 1
                month[1] += 1
            elif referral is not None:
                counts.voluntary += 1
        decision = case.decision
        if decision is not None and referral is not None and start < referral <= as_of:
            decisions[decision.decision] += 1
        deadline = case.deadline_at
        duty_at = case.duty_at
        if duty_at is None or deadline is None:
            continue
        if not start < duty_at <= as_of:
            continue
        index = month_of(ends, duty_at)
        month = months[index]
        if referral is not None:
            delays[index].append(max(0, referral - duty_at))
        if deadline > as_of:
            counts.pending += 1
            month[6] += 1
            continue
        counts.due += 1
        month[2] += 1
        step = steps.get(deadline)
        if step is None:
            step = steps[deadline] = [0, 0]
        step[0] += 1
        if referral is None:
            counts.overdue += 1
            month[5] += 1
            step[1] += 1
        elif referral < deadline:
            counts.on_time += 1
            month[3] += 1
        else:
            counts.late += 1
            month[4] += 1
            step[1] += 1
    counts.timeliness = tuple(Step(d, n, x) for d, (n, x) in sorted(steps.items()))
    counts.monthly = tuple(
        _month(span, numbers, found)
        for span, numbers, found in zip(spans, months, delays, strict=True)
    )
    return counts


def _month(span: MonthSpan, numbers: list[int], delays: list[int]) -> MonthCounts:
    recorded, mandatory, due, on_time, late, overdue, pending = numbers
    median = p90 = None
    if delays:
        delays.sort()
        median, p90 = round(quantile_type7(delays, 0.5)), round(quantile_type7(delays, 0.9))
    return MonthCounts(
        span.label,
        span.start,
        span.end,
        span.partial,
        recorded,
        mandatory,
        due,
        on_time,
        late,
        overdue,
        pending,
        len(delays),
        median,
        p90,
    )
