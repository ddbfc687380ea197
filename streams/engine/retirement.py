"""Retiring cases that can no longer change any output (the Kafka workers' bounded recovery).

A worker restores its partitions from the case changelog; without retirement
that costs all history. A case is retired once it is recorded, nothing is left
for time alone to open (no pending deadline or confirmation window), and every
moment it holds (its events, its duty, its deadline) lies more than the
statistics window plus a margin before the clock: outside every figure of the
report, the referral delays, the CUSUM and the outcomes. What it still
contributes is kept, small: its findings in their final state (open ones stay
counted), when its own duty arose (cases linking to it still need that), and
its event ids (a late repeat is still a duplicate).

An event that arrives later for a retired case, not a repeat, is refused as
`retired_case` (a dead letter) rather than judged against a case whose events
are gone: with the default margin that is an event about a case at least 13
months old, quiet for all that time.
"""

from __future__ import annotations

from typing import NamedTuple

from refmon.streams.engine.case import CaseState, DecisionRecord
from refmon.streams.engine.findings import Finding


class Retired(NamedTuple):
    force: str
    case_id: str
    own_duty_at: int | None
    findings: tuple[Finding, ...]
    review: CaseState | None = None
    """The times the review points and last year's window still count (section 14, 15)."""
    decisions: tuple[DecisionRecord, ...] = ()
    """Every decision, for a case that had more than one (a review point sees the one
    known then)."""
    first_at: int | None = None
    """Its earliest event: the review points start after the earliest of all."""


def review_times(case: CaseState) -> CaseState:
    """What a retired case still holds for the review points and last year's window."""
    return CaseState(
        recorded_at=case.recorded_at,
        claim_at=case.claim_at,
        received_at=case.received_at,
        decision=case.decision,
        duty_at=case.duty_at,
        deadline_at=case.deadline_at,
    )


def first_moment(case: CaseState, decisions: tuple[DecisionRecord, ...]) -> int | None:
    """The earliest event time the case holds, of any of its event types."""
    moments = [v.at_us for v in case.versions or ()]
    moments += [m for m in (case.claim_at, case.received_at, case.closed_at) if m is not None]
    moments += [d.at_us for d in decisions]
    if case.decision is not None:
        moments.append(case.decision.at_us)
    return min(moments) if moments else None


def last_moment(case: CaseState) -> int | None:
    """The latest moment the case holds: its latest event, its duty, its deadline."""
    moments = [
        m
        for m in (case.touched_at, case.duty_at, case.deadline_at, case.recorded_at)
        if m is not None
    ]
    return max(moments) if moments else None


def can_retire(case: CaseState, before_us: int) -> bool:
    if not case.recorded or case.timer_at is not None:
        return False
    last = last_moment(case)
    return last is not None and last < before_us
