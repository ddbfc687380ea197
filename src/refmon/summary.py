"""The human-readable table `refmon run` prints on standard error at the end."""

from __future__ import annotations

from refmon.streams.engine import ForceRow, Report
from refmon.streams.engine.timeutil import format_utc

_RANK = {"alarm": 0, "alert": 1, "ok": 2, "insufficient_data": 3}


def _flag_order(row: ForceRow) -> tuple[int, float, str]:
    worst = min(_RANK[row.compliance_status], _RANK[row.mandatory_share_status])
    z = min(z for z in (row.compliance_z, row.mandatory_share_z, 0.0) if z is not None)
    return (worst if worst < 2 else 2, z if worst < 2 else 0.0, row.force)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _status(value: str) -> str:
    return {"insufficient_data": "n<5"}.get(value, value)


def render(report: Report, pending_cases: int) -> str:
    head = (
        "force",
        "recorded",
        "mand",
        "share",
        "share?",
        "due",
        "on time",
        "late",
        "overdue",
        "pending",
        "compl.",
        "compl.?",
        "open",
    )
    rows = [head]
    for row in sorted(report.forces, key=_flag_order):
        c = row.counts
        rows.append(
            (
                row.force,
                str(c.recorded),
                str(c.mandatory),
                _pct(row.mandatory_share),
                _status(row.mandatory_share_status),
                str(c.due),
                str(c.on_time),
                str(c.late),
                str(c.overdue),
                str(c.pending),
                _pct(row.compliance),
                _status(row.compliance_status),
                str(sum(row.open_findings.values())),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    n = report.national
    as_of = "-" if report.as_of is None else format_utc(report.as_of)
    flagged = [
        r.force
        for r in report.forces
        if r.compliance_status in {"alert", "alarm"}
        or r.mandatory_share_status in {"alert", "alarm"}
    ]
    lines[1:1] = ["-" * len(lines[0])]
    lines.append("")
    lines.append(
        f"as of {as_of}, window {report.window_days} days, ruleset {report.ruleset}: "
        f"{report.valid} events applied, {report.invalid} rejected, {report.duplicate} duplicates"
    )
    lines.append(
        f"national: compliance {_pct(n.compliance)} ({n.on_time}/{n.due} due), "
        f"mandatory share {_pct(n.mandatory_share)}; flagged: {', '.join(flagged) or 'none'}"
    )
    if pending_cases:
        lines.append(
            f"{pending_cases} case(s) have events but no case.recorded yet: held, not judged"
        )
    return "\n".join(lines) + "\n"
