"""The force-level `deterioration` finding (docs/contract.md section 11), from the report's rows.

It depends on the national rate, so it cannot be judged event by event as case
findings are: it is a pure function of the cross-force rows, derived whenever a
report is. A force whose latest signal is in the window but older than 90 days
had the finding open and has since resolved; one with no signal in the window
has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from refmon.streams.engine.findings import Finding, finding_id
from refmon.streams.engine.report import ForceRow
from refmon.streams.engine.timeutil import local_label
from refmon.streams.engine.vocabulary import FindingKind

KIND: FindingKind = "deterioration"


def deterioration_findings(
    rows: Iterable[ForceRow], ruleset_id: str, zone: tzinfo
) -> tuple[Finding, ...]:
    """One finding per force with a timeliness signal in the window, in force order."""
    found = []
    for row in sorted(rows, key=lambda r: r.force):
        at = row.timeliness_signalled_at
        if at is None:
            continue
        found.append(
            Finding(
                finding_id=finding_id(KIND, row.force, ""),
                kind=KIND,
                status="open" if row.timeliness_status == "signal" else "resolved",
                force=row.force,
                case_id=None,
                criteria=(),
                duty_arose_at=None,
                deadline=None,
                detected_at=at,
                summary=f"{row.force}'s referrals have been late or overdue more often than "
                "the national rate explains: its timeliness CUSUM signalled on the cases "
                f"due by {local_label(at, zone)}",
                ruleset=ruleset_id,
                duty_event_id=None,
                referral_event_id=None,
            )
        )
    return tuple(found)
