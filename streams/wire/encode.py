"""The report and findings as JSON (docs/contract.md sections 8 and 10).

One encoder for every output path, so that `refmon run` and the Kafka path
write byte-identical files for the same events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from refmon.streams.engine.counts import MonthCounts
from refmon.streams.engine.cusum import Point
from refmon.streams.engine.findings import Finding
from refmon.streams.engine.report import ForceRow, NationalMonth, Report
from refmon.streams.engine.timeutil import MICROS_PER_HOUR, format_utc
from refmon.streams.wire.oversight import oversight_json, with_comparisons

SERIES_KEYS = frozenset({"monthly", "timeliness_path", "history"})
"""Lists written one item a line: a year of months or CUSUM steps stays readable."""


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
        "resolves": finding.resolves,
    }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _hours(micros: int | None) -> float | None:
    return None if micros is None else micros / MICROS_PER_HOUR


def _month_json(m: MonthCounts | NationalMonth) -> dict[str, Any]:
    body: dict[str, Any] = {
        "month": m.month,
        "from": format_utc(m.start),
        "to": format_utc(m.end),
        "partial": m.partial,
        "recorded": m.recorded,
        "mandatory": m.mandatory,
        "mandatory_share": _ratio(m.mandatory, m.recorded),
        "due": m.due,
        "on_time": m.on_time,
        "late": m.late,
        "overdue": m.overdue,
        "pending": m.pending,
        "compliance": _ratio(m.on_time, m.due),
    }
    if isinstance(m, MonthCounts):
        body["referred"] = m.referred
        body["referral_delay_median_hours"] = _hours(m.delay_median_us)
        body["referral_delay_p90_hours"] = _hours(m.delay_p90_us)
    return body


def _path_json(points: Iterable[Point]) -> list[dict[str, Any]]:
    return [
        {"deadline": format_utc(p.deadline), "cusum": p.cusum, "signal": p.signal} for p in points
    ]


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
        "volume_status": row.volume.status,
        "volume_centre": row.volume.centre,
        "volume_lower": row.volume.lower,
        "volume_upper": row.volume.upper,
        "volume_flagged_months": list(row.volume.flagged),
        "open_findings": dict(row.open_findings),
        "monthly": [_month_json(m) for m in c.monthly],
        "timeliness_path": _path_json(row.timeliness_path),
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
            "compliance_target": n.compliance_target,
            "compliance_phi": n.compliance_phi,
            "compliance_tau2": n.compliance_tau2,
            "mandatory_share_target": n.mandatory_share_target,
            "mandatory_share_phi": n.mandatory_share_phi,
            "mandatory_share_tau2": n.mandatory_share_tau2,
            "timeliness_p0": n.timeliness_p0,
            "timeliness_p1": n.timeliness_p1,
            "timeliness_h": n.timeliness_h,
            "returned_share": n.returned_share,
            "returned_share_target": n.returned_share_target,
            "returned_share_phi": n.returned_share_phi,
            "returned_share_tau2": n.returned_share_tau2,
            "monthly": [_month_json(m) for m in n.monthly],
        },
        "forces": with_comparisons([_row_json(row) for row in report.forces], report.comparisons),
        **oversight_json(report.outliers, report.peer_groups),
    }


def dumps_report(report: Report) -> str:
    return pretty_json(report_json(report)) + "\n"


def pretty_json(value: Any, depth: int = 0, key: str | None = None) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, except that the lists named in
    SERIES_KEYS hold one compact item a line."""
    inner = "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = (
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {pretty_json(v, depth + 1, str(k))}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list) and value:
        if key in SERIES_KEYS:
            items = (
                inner + json.dumps(v, ensure_ascii=False, separators=(", ", ": ")) for v in value
            )
        else:
            items = (inner + pretty_json(v, depth + 1) for v in value)
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps_finding(finding: Finding) -> str:
    return json.dumps(finding_json(finding), ensure_ascii=False, separators=(",", ":")) + "\n"
