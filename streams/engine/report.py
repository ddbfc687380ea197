"""The cross-force view (docs/contract.md sections 9, 11 and 12): one pure call over every force."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from refmon.streams.engine import cusum
from refmon.streams.engine.counts import ForceCounts, MonthCounts, count_force
from refmon.streams.engine.cusum import Parameters, Point, Timeliness, TimelinessStatus
from refmon.streams.engine.funnel import Funnel, Limits, Status, funnel
from refmon.streams.engine.vocabulary import (
    CASE_FINDING_KINDS,
    FINDING_KINDS,
    OUTLIER_FINDING_KINDS,
    FindingKind,
)
from refmon.streams.engine.volume import INSUFFICIENT, Volume, volume

if TYPE_CHECKING:
    from refmon.streams.engine.outlier_model import Outlier
    from refmon.streams.engine.peers import ForceComparison, PeerGroups

__all__ = [
    "ForceCounts",
    "ForceRow",
    "MonthCounts",
    "National",
    "NationalMonth",
    "Report",
    "count_force",
    "cross_force",
]


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
    timeliness_cusum: float | None
    timeliness_signals: int | None
    timeliness_signalled_at: int | None
    timeliness_status: TimelinessStatus
    returned_share: float | None
    returned_share_z: float | None
    returned_share_status: Status
    returned_share_limits: Limits | None
    open_findings: Mapping[FindingKind, int]
    timeliness_path: tuple[Point, ...] = ()
    """The CUSUM after each step, in deadline order (empty for insufficient data)."""
    volume: Volume = INSUFFICIENT
    """The monthly recorded count against the force's own limits (volume.py)."""


class NationalMonth(NamedTuple):
    """One month of the national series: the forces' months added up (no delays: those
    are each force's quantiles, which do not add up)."""

    month: str
    start: int
    end: int
    partial: bool
    recorded: int
    mandatory: int
    due: int
    on_time: int
    late: int
    overdue: int
    pending: int


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
    decided: int = 0
    returned: int = 0
    returned_share: float | None = None
    returned_share_target: float | None = None
    returned_share_phi: float | None = None
    returned_share_tau2: float | None = None
    timeliness_p0: float | None = None
    timeliness_p1: float | None = None
    timeliness_h: float = cusum.H
    monthly: tuple[NationalMonth, ...] = ()


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
    outliers: tuple[Outlier, ...] = ()
    """Section 14: every outlier opened, sorted by force, opened_at, measure."""
    comparisons: Mapping[str, ForceComparison] = field(default_factory=dict)
    """Section 15, per force: its group's means and its own last year."""
    peer_groups: PeerGroups | None = None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class _Totals:
    recorded: int
    mandatory: int
    due: int
    on_time: int
    decided: int
    returned: int


def _totals(counts: Iterable[ForceCounts]) -> _Totals:
    recorded = mandatory = due = on_time = decided = returned = 0
    for c in counts:
        recorded += c.recorded
        mandatory += c.mandatory
        due += c.due
        on_time += c.on_time
        decided += c.decided
        returned += c.returned
    return _Totals(recorded, mandatory, due, on_time, decided, returned)


def cross_force(
    counts: Mapping[str, ForceCounts],
    open_findings: Mapping[tuple[str, FindingKind], int],
) -> tuple[tuple[ForceRow, ...], National]:
    """Every force's row and the national block, from every force's counts.

    One pure call for every caller: the embedded runner has all forces at hand,
    a Kafka worker has the counts each worker publishes for the forces it holds.
    `open_findings` counts the case findings; a force's `deterioration` and
    `volume_anomaly` counts come from its own statuses here (any given are ignored).
    """
    forces = sorted(counts)
    totals = _totals(counts[f] for f in forces)
    compliance = funnel({f: (counts[f].on_time, counts[f].due) for f in forces})
    share = funnel({f: (counts[f].mandatory, counts[f].recorded) for f in forces})
    returned = funnel({f: (counts[f].returned, counts[f].decided) for f in forces}, side="high")
    national_compliance = _ratio(totals.on_time, totals.due)
    params = cusum.parameters(totals.due, national_compliance)
    rows = tuple(
        _row(
            f,
            counts[f],
            (compliance, share, returned),
            cusum.timeliness(counts[f].timeliness, counts[f].due, params, counts[f].as_of),
            open_findings,
            _path(counts[f], params),
        )
        for f in forces
    )
    national = _national(totals, compliance, share, returned, [counts[f] for f in forces])
    return rows, national


def _path(c: ForceCounts, params: Parameters | None) -> tuple[Point, ...]:
    """The chart behind the force's timeliness fields: none where they are insufficient."""
    if params is None or c.due < cusum.MIN_DUE or c.as_of is None:
        return ()
    return tuple(cusum.path(c.timeliness, params))


def _national_months(counts: Iterable[ForceCounts]) -> tuple[NationalMonth, ...]:
    """The forces' months added up by label. Forces counted at different clocks (Kafka
    workers a moment apart) can clip a month differently: it spans them all."""
    months: dict[str, NationalMonth] = {}
    for c in counts:
        # By position: months read back from `dataclasses.asdict` JSON are lists.
        for month in c.monthly:
            label, start, end, partial = month[:4]
            numbers = [int(n or 0) for n in month[4:11]]
            known = months.get(label)
            if known is None:
                months[label] = NationalMonth(label, start, end, partial, *numbers)
                continue
            summed = (a + b for a, b in zip(known[4:], numbers, strict=True))
            months[label] = NationalMonth(
                label,
                min(known.start, start),
                max(known.end, end),
                known.partial or partial,
                *summed,
            )
    return tuple(months[label] for label in sorted(months))


def _row(
    force: str,
    c: ForceCounts,
    funnels: tuple[Funnel, Funnel, Funnel],
    timeliness: Timeliness,
    open_findings: Mapping[tuple[str, FindingKind], int],
    path: tuple[Point, ...],
) -> ForceRow:
    compliance, share, returned = (f.units[force] for f in funnels)
    found = {
        k: open_findings.get((force, k), 0) for k in (*CASE_FINDING_KINDS, *OUTLIER_FINDING_KINDS)
    }
    found["deterioration"] = 1 if timeliness.status == "signal" else 0
    judged = volume(c.monthly)
    found["volume_anomaly"] = 1 if judged.status == "anomaly" else 0
    return ForceRow(
        force=force,
        counts=c,
        compliance=_ratio(c.on_time, c.due),
        compliance_z=compliance.z,
        compliance_status=compliance.status,
        compliance_limits=compliance.limits,
        mandatory_share=_ratio(c.mandatory, c.recorded),
        mandatory_share_z=share.z,
        mandatory_share_status=share.status,
        mandatory_share_limits=share.limits,
        timeliness_cusum=timeliness.cusum,
        timeliness_signals=timeliness.signals,
        timeliness_signalled_at=timeliness.signalled_at,
        timeliness_status=timeliness.status,
        returned_share=_ratio(c.returned, c.decided),
        returned_share_z=returned.z,
        returned_share_status=returned.status,
        returned_share_limits=returned.limits,
        open_findings={k: found[k] for k in FINDING_KINDS},
        timeliness_path=path,
        volume=judged,
    )


def _national(
    t: _Totals,
    compliance: Funnel,
    share: Funnel,
    returned: Funnel,
    counts: Iterable[ForceCounts],
) -> National:
    national_compliance = _ratio(t.on_time, t.due)
    p0, p1 = cusum.target(national_compliance)
    return National(
        recorded=t.recorded,
        mandatory=t.mandatory,
        due=t.due,
        on_time=t.on_time,
        compliance=national_compliance,
        mandatory_share=_ratio(t.mandatory, t.recorded),
        compliance_target=compliance.target,
        compliance_phi=compliance.phi,
        compliance_tau2=compliance.tau2,
        mandatory_share_target=share.target,
        mandatory_share_phi=share.phi,
        mandatory_share_tau2=share.tau2,
        decided=t.decided,
        returned=t.returned,
        returned_share=_ratio(t.returned, t.decided),
        returned_share_target=returned.target,
        returned_share_phi=returned.phi,
        returned_share_tau2=returned.tau2,
        timeliness_p0=p0,
        timeliness_p1=p1,
        monthly=_national_months(counts),
    )
