"""What one force contributes to the cross-force view (CONTRACT.md sections 9, 11, 12).

Everything `cross_force` needs from a force is here and nowhere else: a Kafka
worker publishes the counts of the forces it holds (`to_json`), and every
worker computes the same cross-force rows from everyone's (`from_json`).
Compact on purpose: the CUSUM's observations are one step per deadline instant
(deadlines are local midnights, so at most one a day), not one per case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refmon.streams.engine.case import CaseState
from refmon.streams.engine.cusum import Step
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import DECISION_KINDS, RETURNED_DECISIONS

_SCALARS = ("recorded", "mandatory", "voluntary", "due", "on_time", "late", "overdue", "pending")


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
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ForceCounts:
        """Read `to_json`'s output. Also reads `dataclasses.asdict` output, and older
        bodies without the decision and timeliness fields (as empty)."""
        decisions = no_decisions()
        decisions.update({str(k): int(v) for k, v in body.get("decisions", {}).items()})
        as_of = body.get("as_of")
        return cls(
            **{name: int(body[name]) for name in _SCALARS},
            decisions=decisions,
            timeliness=tuple(Step(*map(int, step)) for step in body.get("timeliness", ())),
            as_of=None if as_of is None else int(as_of),
        )


def count_force(cases: Iterable[CaseState], as_of: int | None, window_days: int) -> ForceCounts:
    """One force's counts over the window (as_of - window_days, as_of]."""
    counts = ForceCounts(as_of=as_of)
    if as_of is None:
        return counts
    start = as_of - window_days * MICROS_PER_DAY
    steps: dict[int, list[int]] = {}
    decisions = counts.decisions
    for case in cases:
        if case.recorded_at is None:
            continue
        referral = case.referral_at
        if start < case.recorded_at <= as_of:
            counts.recorded += 1
            if case.duty_at is not None:
                counts.mandatory += 1
            elif referral is not None:
                counts.voluntary += 1
        decision = case.decision
        if decision is not None and referral is not None and start < referral <= as_of:
            decisions[decision.decision] += 1
        deadline = case.deadline_at
        if case.duty_at is None or deadline is None:
            continue
        if not start < case.duty_at <= as_of:
            continue
        if deadline > as_of:
            counts.pending += 1
            continue
        counts.due += 1
        step = steps.get(deadline)
        if step is None:
            step = steps[deadline] = [0, 0]
        step[0] += 1
        if referral is None:
            counts.overdue += 1
            step[1] += 1
        elif referral < deadline:
            counts.on_time += 1
        else:
            counts.late += 1
            step[1] += 1
    counts.timeliness = tuple(Step(d, n, x) for d, (n, x) in sorted(steps.items()))
    return counts
