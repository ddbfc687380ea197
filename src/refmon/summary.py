"""The human-readable table `refmon run` prints on standard error at the end."""

from __future__ import annotations

from refmon.streams.engine import ForceRow, Report
from refmon.streams.engine.timeutil import format_utc
from refmon.terminal import safe_lines

# A CUSUM signal ranks with a funnel alert: worth a look, short of an alarm.
_RANK = {"alarm": 0, "alert": 1, "signal": 1, "ok": 2, "insufficient_data": 3}
FLAGS = frozenset({"alarm", "alert", "signal"})


def _statuses(row: ForceRow) -> tuple[str, ...]:
    return (
        row.compliance_status,
        row.mandatory_share_status,
        row.returned_share_status,
        row.timeliness_status,
    )


def _flag_order(row: ForceRow) -> tuple[int, float, str]:
    worst = min(_RANK[s] for s in _statuses(row))
    # How far beyond its limits the force lies, on the side each measure flags.
    beyond = max(
        b
        for b in (
            -(row.compliance_z or 0),
            -(row.mandatory_share_z or 0),
            row.returned_share_z or 0,
            0.0,
        )
    )
    return (worst if worst < 2 else 2, -beyond if worst < 2 else 0.0, row.force)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _status(value: str) -> str:
    return {"insufficient_data": "n<5"}.get(value, value)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


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
        "cusum",
        "cusum?",
        "decided",
        "ret.",
        "ret.?",
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
                _number(row.timeliness_cusum),
                _status(row.timeliness_status),
                str(c.decided),
                _pct(row.returned_share),
                _status(row.returned_share_status),
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
    flagged = [r.force for r in report.forces if FLAGS.intersection(_statuses(r))]
    lines[1:1] = ["-" * len(lines[0])]
    lines.append("")
    lines.append(
        f"as of {as_of}, window {report.window_days} days, ruleset {report.ruleset}: "
        f"{report.valid} events applied, {report.invalid} rejected, {report.duplicate} duplicates"
    )
    lines.append(
        f"national: compliance {_pct(n.compliance)} ({n.on_time}/{n.due} due), "
        f"mandatory share {_pct(n.mandatory_share)}, "
        f"returned share {_pct(n.returned_share)} ({n.returned}/{n.decided} decided); "
        f"CUSUM p0 {_pct(n.timeliness_p0)}, h {n.timeliness_h:g}"
    )
    lines.append(f"flagged: {', '.join(flagged) or 'none'}")
    if pending_cases:
        lines.append(
            f"{pending_cases} case(s) have events but no case.recorded yet: held, not judged"
        )
    # The ruleset id and force codes come from files: printed, never obeyed.
    return safe_lines(lines) + "\n"
