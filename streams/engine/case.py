"""Per-case state, and when the duty to refer arose (docs/contract.md sections 5 and 6).

Everything a finding depends on is either a minimum over events (earliest
referral, earliest closure) or derived from the fact versions sorted by event
time, so the state depends only on the set of events, never on their order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from refmon.streams.engine.vocabulary import FindingKind

if TYPE_CHECKING:
    from refmon.streams.engine.model import Finding

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


def _before(at: int, event_id: str, current_at: int | None, current_id: str | None) -> bool:
    """Whether (at, event_id) comes before the current earliest: ties by the smaller id,
    so that which event is the evidence never depends on arrival order."""
    if current_at is None or at < current_at:
        return True
    return at == current_at and (current_id is None or event_id < current_id)


class DecisionRecord(NamedTuple):
    """The watchdog's decision on a referral (docs/contract.md section 12)."""

    at_us: int
    event_id: str
    decision: str


@dataclass(slots=True)
class CaseState:
    recorded_at: int | None = None
    versions: list[FactVersion] | None = None
    claim_at: int | None = None
    received_at: int | None = None
    closed_at: int | None = None
    # The events behind the referral time (docs/contract.md section 8's evidence).
    claim_id: str | None = None
    received_id: str | None = None
    decision: DecisionRecord | None = None
    # Derived by `refresh_duty`; kept because findings and reports read them often.
    own_duty_at: int | None = None
    duty_at: int | None = None
    duty_mask: int = 0
    duty_event_id: str | None = None
    deadline_at: int | None = None
    timer_at: int | None = None
    findings: dict[FindingKind, Finding] | None = None
    touched_at: int | None = None
    """The latest event time of any event of this case (for retirement)."""
    linked_count: int = 0
    """Distinct linked case ids over all versions (bounded, see links.py)."""

    @property
    def recorded(self) -> bool:
        return self.recorded_at is not None

    @property
    def referral_at(self) -> int | None:
        """The watchdog's receipt when there is one, else the force's own claim."""
        return self.received_at if self.received_at is not None else self.claim_at

    @property
    def referral_event_id(self) -> str | None:
        """The event that gives the referral time: the earliest receipt, else the earliest claim."""
        return self.received_id if self.received_at is not None else self.claim_id

    @property
    def latest(self) -> FactVersion | None:
        return self.versions[-1] if self.versions else None

    def add_version(self, version: FactVersion) -> int:
        """Insert in sort order; returns where it went."""
        if self.versions is None:
            self.versions = [version]
            index = 0
        else:
            index = bisect_right(self.versions, version)
            self.versions.insert(index, version)
        if version.rank == RECORDED_RANK:
            self.recorded_at = _earliest(self.recorded_at, version.at_us)
        return index

    def touch(self, at_us: int) -> None:
        if self.touched_at is None or at_us > self.touched_at:
            self.touched_at = at_us

    def add_claim(self, at_us: int, event_id: str) -> None:
        if _before(at_us, event_id, self.claim_at, self.claim_id):
            self.claim_at, self.claim_id = at_us, event_id

    def add_receipt(self, at_us: int, event_id: str) -> None:
        if _before(at_us, event_id, self.received_at, self.received_id):
            self.received_at, self.received_id = at_us, event_id

    def add_decision(self, record: DecisionRecord) -> None:
        """Keep the latest decision by event time; ties go to the greatest event id."""
        current = self.decision
        if current is None or (record.at_us, record.event_id) > (current.at_us, current.event_id):
            self.decision = record

    def add_closure(self, at_us: int) -> None:
        self.closed_at = _earliest(self.closed_at, at_us)


class Duty(NamedTuple):
    own_at: int | None
    """When the case's own facts first met a criterion other than same-incident."""
    at: int | None
    """When the duty arose, by any criterion."""
    mask: int
    """The criteria met at that moment."""
    event_id: str | None = None
    """The fact version in force at that moment: the duty's evidence (section 8)."""


NO_DUTY = Duty(None, None, 0, None)

# A case's facts over time are its versions in sort order; each is in force from
# its own time until the next version's time, except a version followed by
# another at the same instant, which is never in force (the later one in sort
# order already is). Every candidate moment of the duty that a version gives
# lies in its own span and at or after its start, so scans can stop as soon as a
# version starts at or after the best moment found: the cost of a change is the
# distance to the duty, not the length of the case's history.


def _until(versions: list[FactVersion], index: int) -> int | None:
    return versions[index + 1].at_us if index + 1 < len(versions) else None


def _shadowed(versions: list[FactVersion], index: int) -> bool:
    return index + 1 < len(versions) and versions[index + 1].at_us == versions[index].at_us


def _first_moment(
    version: FactVersion, until: int | None, own_duty_of: OwnDutyOf, linked_bit: int
) -> int | None:
    """The earliest moment in this version's span at which its facts meet a criterion.

    Same-incident holds from max(this version's start, the linked case's own duty).
    """
    best = version.at_us if version.own_mask else None
    if linked_bit:
        for other in version.linked:
            other_duty = own_duty_of(other)
            if other_duty is None:
                continue
            moment = max(version.at_us, other_duty)
            if (until is None or moment < until) and (best is None or moment < best):
                best = moment
    return best


def _mask_at(version: FactVersion, at: int, own_duty_of: OwnDutyOf, linked_bit: int) -> int:
    """The criteria this version's facts meet at `at`."""
    mask = version.own_mask
    if linked_bit and any((d := own_duty_of(o)) is not None and d <= at for o in version.linked):
        mask |= linked_bit
    return mask


def _scan_duty(
    versions: list[FactVersion], start: int, own_duty_of: OwnDutyOf, linked_bit: int
) -> tuple[int | None, int]:
    """The earliest duty moment among the versions from `start` on, and its version's index."""
    best: int | None = None
    where = -1
    for index in range(start, len(versions)):
        version = versions[index]
        if best is not None and version.at_us >= best:
            break
        if _shadowed(versions, index):
            continue
        moment = _first_moment(version, _until(versions, index), own_duty_of, linked_bit)
        if moment is not None and (best is None or moment < best):
            best, where = moment, index
    return best, where


def _scan_own(versions: list[FactVersion], start: int) -> int | None:
    """The start of the first version in force from `start` on whose own facts meet a criterion."""
    for index in range(start, len(versions)):
        if versions[index].own_mask and not _shadowed(versions, index):
            return versions[index].at_us
    return None


def _duty_from(
    versions: list[FactVersion],
    own_at: int | None,
    found: tuple[int | None, int],
    own_duty_of: OwnDutyOf,
    linked_bit: int,
) -> Duty:
    at, index = found
    if at is None:
        return Duty(own_at, None, 0)
    version = versions[index]
    return Duty(own_at, at, _mask_at(version, at, own_duty_of, linked_bit), version.event_id)


def duty(versions: list[FactVersion], own_duty_of: OwnDutyOf, linked_bit: int) -> Duty:
    """When the duty arose, and the criteria met at that moment, from scratch."""
    found = _scan_duty(versions, 0, own_duty_of, linked_bit)
    return _duty_from(versions, _scan_own(versions, 0), found, own_duty_of, linked_bit)


def duty_relinked(
    versions: list[FactVersion], old: Duty, own_duty_of: OwnDutyOf, linked_bit: int
) -> Duty:
    """The duty after a linked case's own duty moved; this case's own duty cannot have."""
    found = _scan_duty(versions, 0, own_duty_of, linked_bit)
    return _duty_from(versions, old.own_at, found, own_duty_of, linked_bit)


def _own_after_insert(versions: list[FactVersion], index: int, old: int | None) -> int | None:
    version = versions[index]
    at = version.at_us
    if version.own_mask:
        return at if old is None or at < old else old
    replaced = index > 0 and versions[index - 1].at_us == at
    if replaced and old == at:
        # The version it replaced at this instant was the one that met a criterion.
        return _scan_own(versions, index + 1)
    return old


def duty_after_insert(
    versions: list[FactVersion], index: int, old: Duty, own_duty_of: OwnDutyOf, linked_bit: int
) -> Duty:
    """The duty once `versions[index]` has been inserted, given the duty before it was.

    The new version takes over the end of the span of the version before it (or
    that version's whole span, at the same instant). The old duty moment stands
    unless it lay in what was taken over; the new version adds its own moments.
    """
    if _shadowed(versions, index):
        return old  # never in force: nothing changes
    version = versions[index]
    own_at = _own_after_insert(versions, index, old.own_at)
    until = _until(versions, index)
    moment = _first_moment(version, until, own_duty_of, linked_bit)
    kept = old.at
    if kept is not None and version.at_us <= kept and (until is None or kept < until):
        # The old moment lay in the span this version took over: it stands only
        # if this version gives it too, and every later version's moments come
        # after this span.
        if moment is None:
            found = _scan_duty(versions, index + 1, own_duty_of, linked_bit)
            return _duty_from(versions, own_at, found, own_duty_of, linked_bit)
        kept = None
    if moment is not None and (kept is None or moment < kept):
        mask = _mask_at(version, moment, own_duty_of, linked_bit)
        return Duty(own_at, moment, mask, version.event_id)
    if kept is None:
        return Duty(own_at, None, 0)
    # Outside the span taken over, the version in force at the old moment is unchanged.
    return Duty(own_at, kept, old.mask, old.event_id)


def latest_meets_since(latest: FactVersion, own_duty_of: OwnDutyOf, linked_bit: int) -> int | None:
    """From when the latest facts meet any criterion (None: they meet none)."""
    if latest.own_mask:
        return latest.at_us
    if not linked_bit:
        return None
    duties = [d for o in latest.linked if (d := own_duty_of(o)) is not None]
    return max(latest.at_us, min(duties)) if duties else None
