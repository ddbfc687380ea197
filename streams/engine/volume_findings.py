"""The force-level `volume_anomaly` finding (docs/volume.md), from the report's rows.

Like `deterioration`, it is a pure function of the cross-force rows: open while
a force's latest complete months hold one outside its own process limits; a
force with no such month has none (the worker resolves one it announced).
"""

from __future__ import annotations

from collections.abc import Iterable

from refmon.streams.engine.findings import Finding, finding_id
from refmon.streams.engine.report import ForceRow
from refmon.streams.engine.vocabulary import FindingKind

KIND: FindingKind = "volume_anomaly"


def volume_findings(rows: Iterable[ForceRow], ruleset_id: str) -> tuple[Finding, ...]:
    """One open finding per force whose volume status is `anomaly`, in force order."""
    found = []
    for row in sorted(rows, key=lambda r: r.force):
        judged = row.volume
        if judged.status != "anomaly" or judged.flagged_at is None:
            continue
        months = ", ".join(judged.flagged)
        found.append(
            Finding(
                finding_id=finding_id(KIND, row.force, ""),
                kind=KIND,
                status="open",
                force=row.force,
                case_id=None,
                criteria=(),
                duty_arose_at=None,
                deadline=None,
                detected_at=judged.flagged_at,
                summary=f"{row.force}'s recorded cases in {months} lie outside its own "
                f"process limits ({judged.lower:.0f} to {judged.upper:.0f} a month): "
                "check the force's data before reading its cross-force figures",
                ruleset=ruleset_id,
                duty_event_id=None,
                referral_event_id=None,
            )
        )
    return tuple(found)
