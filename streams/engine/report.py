"""Force consistency, the cross-force view (CONTRACT.md section 9)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from refmon.streams.engine.case import CaseState
from refmon.streams.engine.funnel import Funnel, Limits, Status, funnel
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import FINDING_KINDS, FindingKind


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


@dataclass(frozen=True, slots=True)
class ForceRow:
    force: str
    counts: ForceCounts
    compliance: float | None
    compliance_z: float | None
    compliance_status: Status
    compliance_limits: Limits | None
    mandatory_share: float | None
    mandatory_share_z: float | None
    mandatory_share_status: Status
    mandatory_share_limits: Limits | None
    open_findings: Mapping[FindingKind, int]


@dataclass(frozen=True, slots=True)
class National:
    recorded: int
    mandatory: int
    due: int
    on_time: int
    compliance: float | None
    mandatory_share: float | None
    compliance_target: float | None
    compliance_phi: float | None
    compliance_tau2: float | None
    mandatory_share_target: float | None
    mandatory_share_phi: float | None
    mandatory_share_tau2: float | None


@dataclass(frozen=True, slots=True)
class Report:
    as_of: int | None
    """None until the engine has seen an event or been given an as-of time."""
    window_days: int
    ruleset: str
    valid: int
    invalid: int
    duplicate: int
    national: National
    forces: tuple[ForceRow, ...] = field(default_factory=tuple)


def count_force(cases: Iterable[CaseState], as_of: int | None, window_days: int) -> ForceCounts:
    """One force's counts over the window (as_of - window_days, as_of]."""
    counts = ForceCounts()
    if as_of is None:
        return counts
    start = as_of - window_days * MICROS_PER_DAY
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
        if case.duty_at is None or case.deadline_at is None:
            continue
        if not start < case.duty_at <= as_of:
            continue
        if case.deadline_at > as_of:
            counts.pending += 1
            continue
        counts.due += 1
        if referral is None:
            counts.overdue += 1
        elif referral < case.deadline_at:
            counts.on_time += 1
        else:
            counts.late += 1
    return counts


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def cross_force(
    counts: Mapping[str, ForceCounts],
    open_findings: Mapping[tuple[str, FindingKind], int],
) -> tuple[tuple[ForceRow, ...], National]:
    """Every force's row and the national block, from every force's counts.

    One pure call for every caller: the embedded runner has all forces at hand,
    a Kafka worker has the counts each worker publishes for the forces it holds.
    """
    rows, compliance, share = _rows(counts, open_findings)
    return rows, _national(rows, compliance, share)


def _rows(
    counts: Mapping[str, ForceCounts],
    open_findings: Mapping[tuple[str, FindingKind], int],
) -> tuple[tuple[ForceRow, ...], Funnel, Funnel]:
    forces = sorted(counts)
    compliance = funnel({f: (counts[f].on_time, counts[f].due) for f in forces})
    share = funnel({f: (counts[f].mandatory, counts[f].recorded) for f in forces})
    rows = tuple(
        ForceRow(
            force=f,
            counts=counts[f],
            compliance=_ratio(counts[f].on_time, counts[f].due),
            compliance_z=compliance.units[f].z,
            compliance_status=compliance.units[f].status,
            compliance_limits=compliance.units[f].limits,
            mandatory_share=_ratio(counts[f].mandatory, counts[f].recorded),
            mandatory_share_z=share.units[f].z,
            mandatory_share_status=share.units[f].status,
            mandatory_share_limits=share.units[f].limits,
            open_findings={k: open_findings.get((f, k), 0) for k in FINDING_KINDS},
        )
        for f in forces
    )
    return rows, compliance, share


def _national(rows: Iterable[ForceRow], compliance: Funnel, share: Funnel) -> National:
    recorded = mandatory = due = on_time = 0
    for row in rows:
        recorded += row.counts.recorded
        mandatory += row.counts.mandatory
        due += row.counts.due
        on_time += row.counts.on_time
    return National(
        recorded=recorded,
        mandatory=mandatory,
        due=due,
        on_time=on_time,
        compliance=_ratio(on_time, due),
        mandatory_share=_ratio(mandatory, recorded),
        compliance_target=compliance.target,
        compliance_phi=compliance.phi,
        compliance_tau2=compliance.tau2,
        mandatory_share_target=share.target,
        mandatory_share_phi=share.phi,
        mandatory_share_tau2=share.tau2,
    )
