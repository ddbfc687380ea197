"""Per-case state, and when the duty to refer arose (CONTRACT.md sections 5 and 6).

Everything a finding depends on is either a minimum over events (earliest
referral, earliest closure) or derived from the fact versions sorted by event
time, so the state depends only on the set of events, never on their order.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from refmon.streams.engine.vocabulary import FindingKind

if TYPE_CHECKING:
    from refmon.streams.engine.findings import Finding

OwnDutyOf = Callable[[str], "int | None"]
"""Looks up when another case of the same force became mandatory by its own criteria."""

RECORDED_RANK = 0
UPDATED_RANK = 1


class FactVersion(NamedTuple):
    """One `case.recorded`/`case.updated`, reduced to what the rules need.

    Sorted by (time, rank, event_id): at equal times an update counts as later
    than the record, and the event id settles the rest deterministically.
    """

    at_us: int
    rank: int
    event_id: str
    own_mask: int
    assessed_mandatory: bool
    linked: tuple[str, ...]


def _earliest(current: int | None, candidate: int) -> int:
    return candidate if current is None or candidate < current else current


@dataclass(slots=True)
class CaseState:
    recorded_at: int | None = None
    versions: list[FactVersion] | None = None
    claim_at: int | None = None
    received_at: int | None = None
    closed_at: int | None = None
    # Derived by `refresh_duty`; kept because findings and reports read them often.
    own_duty_at: int | None = None
    duty_at: int | None = None
    duty_mask: int = 0
    deadline_at: int | None = None
    timer_at: int | None = None
    findings: dict[FindingKind, Finding] | None = None

    @property
    def recorded(self) -> bool:
        return self.recorded_at is not None

    @property
    def referral_at(self) -> int | None:
        """The watchdog's receipt when there is one, else the force's own claim."""
        return self.received_at if self.received_at is not None else self.claim_at

    @property
    def latest(self) -> FactVersion | None:
        return self.versions[-1] if self.versions else None

    def add_version(self, version: FactVersion) -> None:
        if self.versions is None:
            self.versions = [version]
        else:
            insort(self.versions, version)
        if version.rank == RECORDED_RANK:
            self.recorded_at = _earliest(self.recorded_at, version.at_us)

    def add_claim(self, at_us: int) -> None:
        self.claim_at = _earliest(self.claim_at, at_us)

    def add_receipt(self, at_us: int) -> None:
        self.received_at = _earliest(self.received_at, at_us)

    def add_closure(self, at_us: int) -> None:
        self.closed_at = _earliest(self.closed_at, at_us)


def effective_versions(versions: list[FactVersion]) -> list[tuple[FactVersion, int | None]]:
    """Each version that is ever the case's facts, with the time it stops being so.

    A version followed by another at the same instant is never in force: at that
    instant the later one (in sort order) already is.
    """
    spans: list[tuple[FactVersion, int | None]] = []
    for index, version in enumerate(versions):
        until = versions[index + 1].at_us if index + 1 < len(versions) else None
        if until is None or until > version.at_us:
            spans.append((version, until))
    return spans


class Duty(NamedTuple):
    own_at: int | None
    """When the case's own facts first met a criterion other than same-incident."""
    at: int | None
    """When the duty arose, by any criterion."""
    mask: int
    """The criteria met at that moment."""


NO_DUTY = Duty(None, None, 0)


def _facts_at(spans: list[tuple[FactVersion, int | None]], at_us: int) -> FactVersion:
    for version, until in spans:
        if version.at_us <= at_us and (until is None or at_us < until):
            return version
    raise ValueError("no facts in force at that moment")


def duty(versions: list[FactVersion], own_duty_of: OwnDutyOf, linked_bit: int) -> Duty:
    """When the duty arose, and the criteria met at that moment.

    Same-incident holds from max(this version's start, the linked case's own
    duty) for as long as this version, which declares the link, is in force.
    """
    spans = effective_versions(versions)
    own = next((v.at_us for v, _ in spans if v.own_mask), None)
    candidates: list[int] = [] if own is None else [own]
    linked_duties: dict[str, int | None] = {}
    if linked_bit:
        for version, until in spans:
            for other in version.linked:
                if other not in linked_duties:
                    linked_duties[other] = own_duty_of(other)
                other_duty = linked_duties[other]
                if other_duty is None:
                    continue
                start = max(version.at_us, other_duty)
                if until is None or start < until:
                    candidates.append(start)
    if not candidates:
        return NO_DUTY
    at = min(candidates)
    in_force = _facts_at(spans, at)
    mask = in_force.own_mask
    if any((d := linked_duties.get(o)) is not None and d <= at for o in in_force.linked):
        mask |= linked_bit
    return Duty(own, at, mask)


def latest_meets_since(latest: FactVersion, own_duty_of: OwnDutyOf, linked_bit: int) -> int | None:
    """From when the latest facts meet any criterion (None: they meet none)."""
    if latest.own_mask:
        return latest.at_us
    if not linked_bit:
        return None
    duties = [d for o in latest.linked if (d := own_duty_of(o)) is not None]
    return max(latest.at_us, min(duties)) if duties else None
