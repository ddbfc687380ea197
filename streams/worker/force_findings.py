"""The force-level findings (`deterioration`, `volume_anomaly`) a worker announces, from
cross-force statistics."""

from __future__ import annotations

from collections.abc import Iterable, Set

from refmon.streams.engine import Finding, FindingChange, ForceRow, Ruleset
from refmon.streams.engine.findings import ChangeKind
from refmon.streams.engine.force_findings import force_findings


class ForceFindings:
    """The force-level findings (`deterioration`, `volume_anomaly`) a worker announces,
    as they change.

    They follow from the cross-force statistics, which every worker computes
    alike; each worker announces them for the forces it holds, so a change goes
    out once, from the worker whose partition the force is on.
    """

    def __init__(self, ruleset: Ruleset) -> None:
        self._ruleset = ruleset
        self._last: dict[str, Finding] = {}

    def changes(self, rows: Iterable[ForceRow], held: Set[str]) -> list[FindingChange]:
        now = {
            f.finding_id: f
            for f in force_findings(rows, self._ruleset.id, self._ruleset.zone)
            if f.force in held
        }
        found: list[FindingChange] = []
        for key, finding in now.items():
            old = self._last.get(key)
            if old == finding:
                continue
            if old is None:
                kind: ChangeKind = "opened" if finding.status == "open" else "resolved"
            elif finding.status == "resolved":
                kind = "resolved"
            else:
                kind = "reopened" if old.status == "resolved" else "updated"
            found.append(FindingChange(kind, finding))
        for key, old in self._last.items():
            if key not in now and old.status == "open" and old.force in held:
                found.append(FindingChange("resolved", old._replace(status="resolved")))
        self._last = {k: f for k, f in self._last.items() if f.force not in held} | now
        return found
