"""`refmon simulate`: a realistic synthetic national stream as JSON Lines."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import date

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.outputs import check_outputs
from refmon.progress import Progress
from refmon.schemas import load_forces
from refmon.simulation import ForceBehaviour, SimConfig, simulate

DEFAULT_RATE = 0.5


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "simulate",
        help="write a synthetic national event stream (JSON Lines)",
        description="Writes a seeded, realistic stream of events for the 44 forces, sized by "
        "forces.csv. FORCES lists force codes, each optionally with :RATE (default 0.5), "
        "e.g. --under-refer DUR:0.6,LINCS.",
    )
    p.add_argument(
        "--start", default="2025-01-01", metavar="YYYY-MM-DD", help="first day (default 2025-01-01)"
    )
    p.add_argument(
        "--days", type=int, default=365, metavar="N", help="length of the period (default 365)"
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        metavar="F",
        help="volume relative to the national one (default 1)",
    )
    p.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    p.add_argument(
        "--under-refer",
        default="",
        metavar="FORCES",
        help="forces that leave mandatory cases unreferred",
    )
    p.add_argument(
        "--late", default="", metavar="FORCES", help="forces that refer mandatory cases late"
    )
    p.add_argument(
        "--under-categorise",
        default="",
        metavar="FORCES",
        help="forces that record mandatory cases as less serious",
    )
    p.add_argument(
        "--duplicates", type=float, default=0.0, metavar="RATE", help="share of events sent twice"
    )
    p.add_argument(
        "--invalid",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share of events preceded by a malformed copy",
    )
    p.add_argument(
        "--disorder-hours",
        type=float,
        default=0.0,
        metavar="H",
        help="emit events up to H hours after they occur",
    )
    p.add_argument(
        "--output", "-o", default="-", metavar="PATH|-", help="where to write (default: stdout)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.set_defaults(handler=simulate_command)


def _rates(option: str, text: str, known: set[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, _, rate_text = item.partition(":")
        if code not in known:
            raise UsageError(f"{option}: unknown force {code!r}")
        try:
            rate = float(rate_text) if rate_text else DEFAULT_RATE
        except ValueError:
            raise UsageError(f"{option}: {item!r} is not CODE or CODE:RATE") from None
        if not 0 <= rate <= 1:
            raise UsageError(f"{option}: rate {rate} is not between 0 and 1")
        rates[code] = rate
    return rates


def build_config(args: argparse.Namespace) -> SimConfig:
    known = {f.code for f in load_forces()}
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start {args.start!r} is not a YYYY-MM-DD date") from None
    if args.days < 1 or args.scale <= 0:
        raise UsageError("--days and --scale must be positive")
    for option, value in (("--duplicates", args.duplicates), ("--invalid", args.invalid)):
        if not 0 <= value <= 1:
            raise UsageError(f"{option} must be between 0 and 1")
    if args.disorder_hours < 0:
        raise UsageError("--disorder-hours must not be negative")
    behaviour: dict[str, ForceBehaviour] = {}
    for option, attr, text in (
        ("--under-refer", "under_refer", args.under_refer),
        ("--late", "late", args.late),
        ("--under-categorise", "under_categorise", args.under_categorise),
    ):
        for code, rate in _rates(option, text, known).items():
            behaviour[code] = replace(behaviour.get(code, ForceBehaviour()), **{attr: rate})
    return SimConfig(
        start=start,
        days=args.days,
        scale=args.scale,
        seed=args.seed,
        behaviour=behaviour,
        duplicates=args.duplicates,
        invalid=args.invalid,
        disorder_hours=args.disorder_hours,
    )


def simulate_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = build_config(args)
    outputs = check_outputs({"--output": args.output})
    with outputs.open(env) as files:
        out = files.binary("--output")
        assert out is not None  # --output has a default

        def write(line: str) -> None:
            # Malformed-input noise may carry lone surrogates: they become invalid UTF-8 bytes.
            out.write(line.encode("utf-8", "surrogateescape"))

        with Progress(
            config.days,
            enabled=env.stderr_isatty and not args.quiet,
            stream=env.stderr,
            what="days",
        ) as bar:
            stats = simulate(config, load_forces(), write, lambda day: bar.update(day, day))
        out.flush()
        files.commit()
    if not args.quiet:
        print(
            f"refmon: simulated {stats.cases} cases ({stats.mandatory} mandatory), "
            f"{stats.events} events, {stats.lines} lines",
            file=env.stderr,
        )
    return ExitStatus.OK
