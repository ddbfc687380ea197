"""`refmon diff REPORT_A REPORT_B`: what a change of rules (or of period) moves, force by force."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.report_model import ReportError, parse_report, printable

COUNTS = (
    "recorded",
    "mandatory",
    "voluntary",
    "due",
    "on_time",
    "late",
    "overdue",
    "pending",
    "decided",
    "returned",
)
PROPORTIONS = ("compliance", "mandatory_share", "returned_share")
STATUSES = (
    "compliance_status",
    "mandatory_share_status",
    "returned_share_status",
    "timeliness_status",
)
NATIONAL = ("due", "on_time", "compliance", "mandatory_share", "returned_share")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "diff",
        help="show, force by force, which counts and statuses differ between two reports",
        description="Compares two reports (of `refmon run` or `refmon report`), for instance "
        "the same events judged by two rulesets (`refmon run --ruleset`) or over two periods: "
        "each force's counts, proportions, statuses and open findings that differ. "
        "Forces whose status changed come first.",
    )
    p.add_argument("report_a", metavar="REPORT_A", help="the report before (- for stdin)")
    p.add_argument("report_b", metavar="REPORT_B", help="the report after")
    p.add_argument("--json", action="store_true", help="machine-readable: {field: [A, B]}")
    p.add_argument(
        "--only-changed",
        action="store_true",
        help="only the forces whose status changed (not those whose figures alone moved)",
    )
    p.add_argument("--force", metavar="CODE", help="only this force")
    p.set_defaults(handler=diff_command)


def _read(path: str, env: Environment) -> dict[str, Any]:
    """A whole report, checked (`refmon.report_model`): a broken or hostile file is one line."""
    try:
        text = env.stdin.read().decode("utf-8") if path == "-" else Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise UsageError(f"cannot read {printable(path)}: {reason}") from None
    try:
        return parse_report(text).model_dump(by_alias=True)
    except ReportError as err:
        raise UsageError(f"{printable(path)}: {err}") from None


def _fields(row: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    found = {n: row.get(n) for n in names}
    for kind, count in (row.get("open_findings") or {}).items():
        found[f"open {kind}"] = count
    return found


def changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that differs: the headers, the national block and each force's figures."""
    fields = (*COUNTS, *PROPORTIONS, *STATUSES)
    rows_a = {r["force"]: _fields(r, fields) for r in a["forces"]}
    rows_b = {r["force"]: _fields(r, fields) for r in b["forces"]}
    forces: dict[str, dict[str, list[Any]]] = {}
    for force in sorted(set(rows_a) | set(rows_b)):
        ra, rb = rows_a.get(force, {}), rows_b.get(force, {})
        moved = {
            k: [ra.get(k), rb.get(k)] for k in dict.fromkeys([*ra, *rb]) if ra.get(k) != rb.get(k)
        }
        if moved:
            forces[force] = moved
    national = {
        k: [a.get("national", {}).get(k), b.get("national", {}).get(k)]
        for k in NATIONAL
        if a.get("national", {}).get(k) != b.get("national", {}).get(k)
    }
    header = ("ruleset", "as_of", "window_days")
    return {
        "a": {k: a.get(k) for k in header},
        "b": {k: b.get(k) for k in header},
        "national": national,
        "forces": dict(
            sorted(forces.items(), key=lambda kv: (not any(k in STATUSES for k in kv[1]), kv[0]))
        ),
    }


def _show(key: str, a: Any, b: Any) -> str:
    if key in PROPORTIONS:

        def pct(v: Any) -> str:
            return "-" if v is None else f"{100 * v:.1f}%"

        return f"{key} {pct(a)} -> {pct(b)}"
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        return f"{key} {a} -> {b} ({b - a:+d})"
    return printable(f"{key} {a} -> {b}", 200)


def select(found: dict[str, Any], only_changed: bool, force: str | None) -> dict[str, Any]:
    """Only the forces asked for: one (`--force`), or those whose status changed."""
    forces = {
        code: moved
        for code, moved in found["forces"].items()
        if (force is None or code == force)
        and (not only_changed or any(k in STATUSES for k in moved))
    }
    return {**found, "forces": forces}


def render(found: Mapping[str, Any], names: tuple[str, str]) -> str:
    """The differences as lines of text. Everything read from a file is printed through
    `printable`: a report cannot forge lines or send escapes to the terminal."""
    lines = []
    for side, name in zip(("a", "b"), names, strict=True):
        h = found[side]
        lines.append(
            f"{side.upper()}: {printable(name, 200)}: ruleset {printable(str(h['ruleset']))}, "
            f"as of {printable(str(h['as_of']))}, window {h['window_days']} days"
        )
    national = found["national"]
    lines.append(
        "national: " + ("; ".join(_show(k, *v) for k, v in national.items()) or "no change")
    )
    for force, moved in found["forces"].items():
        statuses = [_show(k, *v) for k, v in moved.items() if k in STATUSES]
        figures = [_show(k, *v) for k, v in moved.items() if k not in STATUSES]
        lines.append(f"{printable(force)}: " + "; ".join([*statuses, *figures]))
    changed = sum(1 for m in found["forces"].values() if any(k in STATUSES for k in m))
    lines.append(f"{len(found['forces'])} force(s) with changes, {changed} with a changed status")
    return "\n".join(lines) + "\n"


def diff_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if args.report_a == "-" and args.report_b == "-":
        raise UsageError("only one of REPORT_A and REPORT_B can be -")
    a, b = _read(args.report_a, env), _read(args.report_b, env)
    if args.force is not None and all(
        r["force"] != args.force for r in (*a["forces"], *b["forces"])
    ):
        raise UsageError(f"--force {printable(args.force)!r}: not a force in either report")
    found = select(changes(a, b), args.only_changed, args.force)
    if args.json:
        env.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(render(found, (args.report_a, args.report_b)))
    return ExitStatus.OK
