"""`refmon rules list|explain`: what the ruleset says, in words."""

from __future__ import annotations

import argparse

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.streams.rulesets import DEFAULT_RULESET, load_ruleset
from refmon.terminal import safe, safe_lines


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("rules", help="list or explain the mandatory-referral criteria")
    p.add_argument(
        "--ruleset", default=DEFAULT_RULESET, help=f"ruleset id (default {DEFAULT_RULESET})"
    )
    sub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="one line per criterion")
    listing.set_defaults(handler=list_command)
    explain = sub.add_parser("explain", help="a criterion's conditions, legal basis and meaning")
    explain.add_argument("criterion", metavar="CRITERION")
    explain.set_defaults(handler=explain_command)


def _print(env: Environment, lines: list[str]) -> None:
    # A ruleset's words come from a file: printed, never obeyed by the terminal.
    env.stdout.write(safe_lines(lines) + "\n")


def list_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    ruleset = load_ruleset(args.ruleset)
    width = max(len(c.id) for c in ruleset.criteria)
    _print(
        env,
        [f"{ruleset.id}: {ruleset.title}"]
        + [f"  {c.id.ljust(width)}  {c.title}" for c in ruleset.criteria],
    )
    return ExitStatus.OK


def explain_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    ruleset = load_ruleset(args.ruleset)
    try:
        criterion = ruleset.criterion(args.criterion)
    except KeyError:
        known = ", ".join(c.id for c in ruleset.criteria)
        raise UsageError(
            f"no criterion {safe(args.criterion[:64])!r} in {ruleset.id} (have: {known})"
        ) from None
    _print(
        env,
        [
            f"{criterion.id} ({ruleset.id}): {criterion.title}",
            "holds when:",
            *(f"  - {condition}" for condition in criterion.conditions),
            f"legal basis: {criterion.legal_basis}",
            criterion.explanation,
            "Judged on the facts as alleged. The referral is due by the end of the day following "
            f"the day the duty arose ({ruleset.zone} local time).",
        ],
    )
    return ExitStatus.OK
