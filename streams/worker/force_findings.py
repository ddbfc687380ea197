"""The findings a worker announces from the cross-force view: `deterioration` and
`volume_anomaly` from the statistics, `outlier_overdue` from the outliers."""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import tzinfo

from refmon.streams.engine import Finding, FindingChange, ForceRow, Ruleset
from refmon.streams.engine.findings import ChangeKind, finding_id
from refmon.streams.engine.force_findings import force_findings
from refmon.streams.engine.outlier_model import KIND, Outlier
from refmon.streams.engine.outliers import overdue_findings
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker.messages import Outbound, finding_value


class _Announced:
    """The findings of one kind of cross-force view, as last announced, and their changes.

    Every worker computes the view alike; each announces the findings of the forces
    it holds, so a change goes out once, from the worker whose partition the force is on.
    """

    def __init__(self) -> None:
        self.last: dict[str, Finding] = {}

    def changes(self, found: Iterable[Finding], held: Set[str]) -> list[FindingChange]:
        now = {f.finding_id: f for f in found if f.force in held}
        changed: list[FindingChange] = []
        for key, finding in now.items():
            old = self.last.get(key)
            if old == finding:
                continue
            if old is None:
                kind: ChangeKind = "opened" if finding.status == "open" else "resolved"
            elif finding.status == "resolved":
                kind = "resolved"
            else:
                kind = "reopened" if old.status == "resolved" else "updated"
            changed.append(FindingChange(kind, finding))
        for key, old in self.last.items():
            if key not in now and old.status == "open" and old.force in held:
                changed.append(FindingChange("resolved", old._replace(status="resolved")))
        self.last = {k: f for k, f in self.last.items() if f.force not in held} | now
        return changed

    def seed(self, announced: Iterable[Finding], forces: Set[str]) -> None:
        """Start these forces from what the findings topic holds: a finding announced
        before (by us in an earlier life, or by another worker) is not announced again."""
        self.last = {k: f for k, f in self.last.items() if f.force not in forces} | {
            f.finding_id: f for f in announced if f.force in forces
        }


KINDS = frozenset({"deterioration", "volume_anomaly"})


class ForceFindings:
    """The force-level findings (`deterioration`, `volume_anomaly`) a worker announces,
    as they change."""

    def __init__(self, ruleset: Ruleset) -> None:
        self._ruleset = ruleset
        self._announced = _Announced()

    def changes(self, rows: Iterable[ForceRow], held: Set[str]) -> list[FindingChange]:
        found = force_findings(rows, self._ruleset.id, self._ruleset.zone)
        return self._announced.changes(found, held)

    def seed(self, announced: Iterable[Finding], forces: Set[str]) -> None:
        self._announced.seed((f for f in announced if f.kind in KINDS), forces)


class OutlierFindings:
    """The `outlier_overdue` findings (docs/contract.md section 14) a worker announces.

    Each goes to the findings topic, and to the force's alerts topic when the step
    it is overdue on is the force's (its response or action plan), or when the
    force was last told of it as open (so that it sees the end); the watchdog's own
    overdue stages are the oversight team's business and stay on the findings topic.
    """

    def __init__(self, topics: Topics, ruleset_id: str, zone: tzinfo) -> None:
        self._topics = topics
        self._ruleset_id = ruleset_id
        self._zone = zone
        self._announced = _Announced()
        self._told_force: set[str] = set()
        """Finding ids whose latest change went to the force's alerts topic as open."""
        self._seeded_open: dict[str, int | None] = {}
        """Open findings taken from the findings topic (id -> deadline): whether the force
        was told of them is known from their outliers, at the next `messages`."""

    def seed(self, announced: Iterable[Finding], forces: Set[str]) -> None:
        mine = [f for f in announced if f.kind == KIND and f.force in forces]
        self._announced.seed(mine, forces)
        self._told_force -= {f.finding_id for f in mine}
        self._seeded_open.update({f.finding_id: f.deadline for f in mine if f.status == "open"})

    def _told_of_seeded(self, outliers: Iterable[Outlier]) -> None:
        """The force heard of a seeded open finding if the step overdue then was its own."""
        for outlier in outliers:
            ident = finding_id(KIND, outlier.force, outlier.outlier_id)
            if ident not in self._seeded_open:
                continue
            if outlier.owner_of_step_due(self._seeded_open[ident]) == "force":
                self._told_force.add(ident)
            else:
                self._told_force.discard(ident)
        self._seeded_open.clear()

    def messages(self, outliers: Iterable[Outlier], held: Set[str]) -> list[Outbound]:
        outliers = tuple(outliers)
        self._told_of_seeded(outliers)
        found = overdue_findings(outliers, self._ruleset_id, self._zone)
        owed_by_force = {
            finding_id(KIND, o.force, o.outlier_id)
            for o in outliers
            if o.force in held and o.overdue_owner == "force"
        }
        sends: list[Outbound] = []
        for change in self._announced.changes(found, held):
            finding = change.finding
            key = finding.finding_id.encode()
            value = finding_value(finding, change.change)
            sends.append(Outbound(self._topics.findings, key, value))
            ident = finding.finding_id
            if ident in owed_by_force or ident in self._told_force:
                sends.append(Outbound(self._topics.alerts(finding.force), key, value))
            if ident in owed_by_force and finding.status == "open":
                self._told_force.add(ident)
            else:
                self._told_force.discard(ident)
        return sends
