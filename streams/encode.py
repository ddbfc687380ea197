"""The report and findings as JSON (CONTRACT.md sections 8 and 10).

One encoder for every output path, so that `refmon run` and the Kafka path
write byte-identical files for the same events.
"""

from __future__ import annotations

import json
from typing import Any

from refmon.streams.decode import DeadLetter
from refmon.streams.engine.findings import Finding
from refmon.streams.engine.report import ForceRow, Report
from refmon.streams.engine.timeutil import format_utc


def _utc(micros: int | None) -> str | None:
    return None if micros is None else format_utc(micros)


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "finding_id": finding.finding_id,
        "kind": finding.kind,
        "status": finding.status,
        "force": finding.force,
        "case_id": finding.case_id,
        "criteria": list(finding.criteria),
        "duty_arose_at": _utc(finding.duty_arose_at),
        "deadline": _utc(finding.deadline),
        "detected_at": format_utc(finding.detected_at),
        "summary": finding.summary,
        "ruleset": finding.ruleset,
        "duty_event_id": finding.duty_event_id,
        "referral_event_id": finding.referral_event_id,
    }


def _row_json(row: ForceRow) -> dict[str, Any]:
    c = row.counts
    return {
        "force": row.force,
        "recorded": c.recorded,
        "mandatory": c.mandatory,
        "due": c.due,
        "on_time": c.on_time,
        "late": c.late,
        "overdue": c.overdue,
        "pending": c.pending,
        "voluntary": c.voluntary,
        "compliance": row.compliance,
        "compliance_z": row.compliance_z,
        "compliance_status": row.compliance_status,
        "mandatory_share": row.mandatory_share,
        "mandatory_share_z": row.mandatory_share_z,
        "mandatory_share_status": row.mandatory_share_status,
        "timeliness_cusum": row.timeliness_cusum,
        "timeliness_signals": row.timeliness_signals,
        "timeliness_signalled_at": _utc(row.timeliness_signalled_at),
        "timeliness_status": row.timeliness_status,
        "decided": c.decided,
        "returned": c.returned,
        "decisions": dict(c.decisions),
        "returned_share": row.returned_share,
        "returned_share_z": row.returned_share_z,
        "returned_share_status": row.returned_share_status,
        "open_findings": dict(row.open_findings),
    }


def report_json(report: Report) -> dict[str, Any]:
    n = report.national
    return {
        "as_of": None if report.as_of is None else format_utc(report.as_of),
        "window_days": report.window_days,
        "ruleset": report.ruleset,
        "events": {
            "valid": report.valid,
            "invalid": report.invalid,
            "duplicate": report.duplicate,
        },
        "national": {
            "due": n.due,
            "on_time": n.on_time,
            "compliance": n.compliance,
            "mandatory_share": n.mandatory_share,
            "compliance_phi": n.compliance_phi,
            "compliance_tau2": n.compliance_tau2,
            "mandatory_share_phi": n.mandatory_share_phi,
            "mandatory_share_tau2": n.mandatory_share_tau2,
            "timeliness_p0": n.timeliness_p0,
            "timeliness_p1": n.timeliness_p1,
            "timeliness_h": n.timeliness_h,
            "returned_share": n.returned_share,
            "returned_share_phi": n.returned_share_phi,
            "returned_share_tau2": n.returned_share_tau2,
        },
        "forces": [_row_json(row) for row in report.forces],
    }


def dumps_report(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"


def dumps_finding(finding: Finding) -> str:
    return json.dumps(finding_json(finding), ensure_ascii=False, separators=(",", ":")) + "\n"


def dumps_dead_letter(letter: DeadLetter) -> str:
    """One line for every dead-letter output, file or topic: byte-identical for the same input."""
    return json.dumps(letter.to_json(), ensure_ascii=False, separators=(",", ":"))
