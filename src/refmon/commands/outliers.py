"""`refmon outliers`: the outliers of a report (docs/contract.md section 14), as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from refmon.environment import Environment, ExitStatus
from refmon.oversight import read_outliers
from refmon.streams.engine.outlier_model import MEASURES, STATES

COLUMNS = (
    ("outlier_id", "outlier"),
    ("force", "force"),
    ("level", "level"),
    ("opened_at", "opened"),
    ("state", "state"),
    ("awaits", "awaits"),
    ("owner", "owner"),
    ("due", "due"),
    ("overdue", "overdue"),
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "outliers",
        help="list the outliers of a report (table or JSON)",
        description="Lists the outliers of a report written by `refmon run` or `refmon "
        "report`: each flagged force measure and where its oversight stands.",
    )
    p.add_argument("--report", required=True, metavar="PATH", help="a report JSON")
    p.add_argument("--force", metavar="CODE", help="only this force's")
    p.add_argument("--measure", choices=MEASURES, help="only this measure's")
    p.add_argument("--state", choices=STATES, help="only those in this state")
    p.add_argument("--overdue", action="store_true", help="only those overdue")
    p.add_argument("--json", action="store_true", help="JSON (a list) instead of a table")
    p.set_defaults(handler=outliers_command)


def chosen(outliers: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    return [
        o
        for o in outliers
        if (args.force is None or o.get("force") == args.force)
        and (args.measure is None or o.get("measure") == args.measure)
        and (args.state is None or o.get("state") == args.state)
        and (not args.overdue or o.get("overdue") is True)
    ]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(outliers: list[dict[str, Any]]) -> str:
    rows = [[title for _, title in COLUMNS]]
    rows += [[_cell(o.get(key)) for key, _ in COLUMNS] for o in outliers]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def outliers_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    found = chosen(read_outliers(args.report), args)
    if args.json:
        env.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    elif found:
        env.stdout.write(table(found))
    else:
        print("refmon: no outliers match", file=env.stderr)
    return ExitStatus.OK
