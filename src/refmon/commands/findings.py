"""`refmon findings`: a force's worklist, from what the force may read.

A force may read only its alerts topic; each alert there is one change of one
finding, so folding the topic from its start gives each finding's latest
state. The watchdog, with broader rights, can give a findings file instead.
"""

from __future__ import annotations

import argparse

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.force_settings import ENV_FORMAT, ForceSettings
from refmon.force_source import (
    Tally,
    add_force_option,
    add_quiet_option,
    checked_force,
    file_findings,
    topic_findings,
)
from refmon.kafka_options import add_kafka_options
from refmon.streams.engine.resolves import RESOLVES
from refmon.worklist import STATUSES, as_csv, as_jsonl, fold, line, select

FORMATS = ("text", "csv", "json")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "findings",
        help="a force's worklist: its findings' latest state, from its alerts topic or a file",
        description="Reads the force's alerts topic from its start with the force's own "
        "credentials (read_committed) and folds it to each finding's latest state; or reads "
        "a findings file (`refmon run --findings`). The alerts topic keeps 90 days: a finding "
        "whose last change is older is not in it.",
    )
    p.add_argument(
        "--input",
        metavar="PATH|-",
        help="findings (JSON Lines) instead of the alerts topic; - for stdin",
    )
    add_force_option(p, "needed without --input")
    p.add_argument(
        "--kind",
        action="append",
        choices=sorted(RESOLVES),
        default=[],
        help="only this kind (repeat for several; default every kind)",
    )
    p.add_argument(
        "--status", choices=STATUSES, default="open", help="open (default), resolved or all"
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=ForceSettings().findings_format,
        help=f"text: a line each (default); csv; json: JSON Lines (or {ENV_FORMAT})",
    )
    add_quiet_option(p)
    add_kafka_options(p)
    p.set_defaults(handler=findings_command)


def findings_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if args.format not in FORMATS:
        raise UsageError(f"{ENV_FORMAT} {args.format[:16]!r}: use text, csv or json")
    tally = Tally(quiet=args.quiet)
    if args.input is not None:
        force = None if args.force is None else checked_force(args.force)
        source = file_findings(args.input, env, tally)
    else:
        force = checked_force(args.force)
        source = topic_findings(args, env, force, tally)
    latest = fold(source).values()
    chosen = select(latest, args.kind, args.status, force)
    if args.format == "csv":
        env.stdout.write(as_csv(chosen))
    elif args.format == "json":
        env.stdout.write(as_jsonl(chosen))
    else:
        env.stdout.writelines(line(f) + "\n" for f in chosen)
    if args.quiet:
        return ExitStatus.OK
    skipped = f", {tally.rejected} skipped (not findings)" if tally.rejected else ""
    env.stderr.write(
        f"refmon: {len(chosen)} finding(s) of {len(latest)} "
        f"from {tally.read} change(s) read{skipped}\n"
    )
    return ExitStatus.OK
