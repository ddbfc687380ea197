"""Findings (docs/contract.md section 8): which are open for a case at a clock time.

`detected_at` is the event-time moment the finding's condition first held
(the deadline for a missed referral, the referral itself for a late one, ...),
so that it too depends only on the events and not on when they arrived.
"""

from __future__ import annotations

import hashlib
from typing import Literal, NamedTuple

from refmon.streams.engine.case import CaseState, OwnDutyOf, latest_meets_since
from refmon.streams.engine.model import Finding as Finding
from refmon.streams.engine.model import Status as Status
from refmon.streams.engine.rules import Ruleset
from refmon.streams.engine.timeutil import local_label
from refmon.streams.engine.vocabulary import FindingKind

ChangeKind = Literal["opened", "updated", "resolved", "reopened"]


class FindingChange(NamedTuple):
    change: ChangeKind
    finding: Finding


def finding_id(kind: str, force: str, case_id: str) -> str:
    """Stable for the same kind, force and case; opaque and safe as a message key."""
    digest = hashlib.blake2b(f"{kind}\x1f{force}\x1f{case_id}".encode(), digest_size=10)
    return f"fnd-{digest.hexdigest()}"


def _summary(
    kind: FindingKind, force: str, case_id: str, criteria: str, due: str, hours: int
) -> str:
    case = f"{force} case {case_id}"
    due_by = f"referral was due by {due}"
    return {
        "missed_referral": f"{case} met {criteria}; {due_by} and has not been made",
        "late_referral": f"{case} met {criteria}; {due_by} and was made late",
        "assessment_mismatch": f"{case}'s latest facts meet {criteria} "
        "but the force assessed it as not mandatory",
        "downgraded_after_duty": f"{case} became mandatory ({criteria}) "
        "but its latest facts meet no criterion",
        "closed_without_referral": f"{case} met {criteria} and was closed without a referral",
        "unconfirmed_referral": f"{case}'s referral claim was not confirmed by the watchdog "
        f"within {hours} hours",
    }[kind]


class Condition(NamedTuple):
    """An open finding's substance, before it is dressed as a Finding."""

    detected_at: int
    mask: int


def open_conditions(
    case: CaseState, clock_us: int, ruleset: Ruleset, own_duty_of: OwnDutyOf
) -> dict[FindingKind, Condition]:
    """The findings open for this case at `clock_us` (the case's duty must be refreshed)."""
    duty_at, deadline = case.duty_at, case.deadline_at
    if duty_at is None or deadline is None or case.recorded_at is None:
        return {}
    referral = case.referral_at
    found: dict[FindingKind, Condition] = {}
    if referral is None and clock_us >= deadline:
        found["missed_referral"] = Condition(deadline, case.duty_mask)
    if referral is not None and referral >= deadline:
        found["late_referral"] = Condition(referral, case.duty_mask)
    latest = case.latest
    if latest is not None:
        since = latest_meets_since(latest, own_duty_of, ruleset.linked_bit)
        if since is None:
            found["downgraded_after_duty"] = Condition(latest.at_us, case.duty_mask)
        elif not latest.assessed_mandatory:
            found["assessment_mismatch"] = Condition(since, latest.own_mask or ruleset.linked_bit)
    if case.closed_at is not None and referral is None:
        found["closed_without_referral"] = Condition(max(case.closed_at, duty_at), case.duty_mask)
    if case.claim_at is not None:
        confirm_by = case.claim_at + ruleset.unconfirmed_after_us
        confirmed = case.received_at is not None and case.received_at <= confirm_by
        if not confirmed and clock_us >= confirm_by:
            found["unconfirmed_referral"] = Condition(confirm_by, case.duty_mask)
    return found


def same_finding(old: Finding, case: CaseState, condition: Condition, ruleset: Ruleset) -> bool:
    """Whether an existing finding already says what this condition says."""
    return (
        old.status == "open"
        and old.detected_at == condition.detected_at
        and old.duty_arose_at == case.duty_at
        and old.deadline == case.deadline_at
        and old.criteria == ruleset.names(condition.mask)
        and old.duty_event_id == case.duty_event_id
        and old.referral_event_id == case.referral_event_id
    )


def make_finding(
    kind: FindingKind,
    force: str,
    case_id: str,
    case: CaseState,
    condition: Condition,
    ruleset: Ruleset,
    known_id: str | None = None,
) -> Finding:
    assert case.duty_at is not None
    assert case.deadline_at is not None
    names = ruleset.names(condition.mask)
    hours = ruleset.unconfirmed_after_us // 3_600_000_000
    due = local_label(case.deadline_at, ruleset.zone)
    return Finding(
        finding_id=known_id or finding_id(kind, force, case_id),
        kind=kind,
        status="open",
        force=force,
        case_id=case_id,
        criteria=names,
        duty_arose_at=case.duty_at,
        deadline=case.deadline_at,
        detected_at=condition.detected_at,
        summary=_summary(kind, force, case_id, ", ".join(names), due, hours),
        ruleset=ruleset.id,
        duty_event_id=case.duty_event_id,
        referral_event_id=case.referral_event_id,
    )


def next_wakeup(case: CaseState, clock_us: int, ruleset: Ruleset) -> int | None:
    """The next clock time at which this case's open findings could change by time alone."""
    if case.duty_at is None or case.deadline_at is None or not case.recorded:
        return None
    times: list[int] = []
    if case.referral_at is None and case.deadline_at > clock_us:
        times.append(case.deadline_at)
    if case.claim_at is not None:
        confirm_by = case.claim_at + ruleset.unconfirmed_after_us
        if confirm_by > clock_us and (case.received_at is None or case.received_at > confirm_by):
            times.append(confirm_by)
    return min(times) if times else None
