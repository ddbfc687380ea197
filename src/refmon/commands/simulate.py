"""`refmon simulate`: a realistic synthetic national stream as JSON Lines."""

from __future__ import annotations

import argparse
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
        "--deteriorate",
        default="",
        metavar="CODE:DATE[:RATE],...",
        help="forces that refer RATE of mandatory cases late from DATE (YYYY-MM-DD) on",
    )
    p.add_argument(
        "--over-refer",
        default="",
        metavar="FORCES",
        help="forces that refer RATE of their non-mandatory cases anyway (weak referrals)",
    )
    p.add_argument(
        "--inflate",
        default="",
        metavar="CODE:DATE:FACTOR,...",
        help="forces whose feed records FACTOR (> 1) times their usual cases for 30 days "
        "from DATE (YYYY-MM-DD), the extra ones fabricated and non-mandatory",
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
        "--oversight",
        action="store_true",
        help="also write the watchdog's and forces' actions on the outliers that open",
    )
    p.add_argument(
        "--output", "-o", default="-", metavar="PATH|-", help="where to write (default: stdout)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.set_defaults(handler=simulate_command)


def _items(text: str) -> list[str]:
    return list(filter(None, (part.strip() for part in text.split(","))))


def _rate(option: str, item: str, text: str, form: str) -> float:
    try:
        rate = float(text) if text else DEFAULT_RATE
    except ValueError:
        raise UsageError(f"{option}: {item!r} is not {form}") from None
    if not 0 <= rate <= 1:
        raise UsageError(f"{option}: rate {rate} is not between 0 and 1")
    return rate


def _force(option: str, code: str, known: set[str]) -> str:
    if code not in known:
        raise UsageError(f"{option}: unknown force {code!r}")
    return code


def _rates(option: str, text: str, known: set[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in _items(text):
        code, _, rate_text = item.partition(":")
        rates[_force(option, code, known)] = _rate(option, item, rate_text, "CODE or CODE:RATE")
    return rates


def _dated_rates(option: str, text: str, known: set[str]) -> dict[str, tuple[date, float]]:
    found: dict[str, tuple[date, float]] = {}
    form = "CODE:YYYY-MM-DD or CODE:YYYY-MM-DD:RATE"
    for item in _items(text):
        code, _, rest = item.partition(":")
        day_text, _, rate_text = rest.partition(":")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise UsageError(f"{option}: {item!r} is not {form}") from None
        found[_force(option, code, known)] = (day, _rate(option, item, rate_text, form))
    return found


def _inflations(option: str, text: str, known: set[str]) -> dict[str, tuple[date, float]]:
    found: dict[str, tuple[date, float]] = {}
    form = "CODE:YYYY-MM-DD:FACTOR"
    for item in _items(text):
        try:
            code, day_text, factor_text = item.split(":")
            day, factor = date.fromisoformat(day_text), float(factor_text)
        except ValueError:
            raise UsageError(f"{option}: {item!r} is not {form}") from None
        if not 1 < factor <= 1000:
            raise UsageError(f"{option}: factor {factor_text} is not above 1 (at most 1000)")
        found[_force(option, code, known)] = (day, factor)
    return found


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
    under = _rates("--under-refer", args.under_refer, known)
    late = _rates("--late", args.late, known)
    under_categorise = _rates("--under-categorise", args.under_categorise, known)
    over = _rates("--over-refer", args.over_refer, known)
    worse = _dated_rates("--deteriorate", args.deteriorate, known)
    inflated = _inflations("--inflate", args.inflate, known)
    behaviour: dict[str, ForceBehaviour] = {}
    for code in sorted(set().union(under, late, under_categorise, over, worse, inflated)):
        day, rate = worse.get(code, (None, 0.0))
        inflate_from, inflate = inflated.get(code, (None, 1.0))
        behaviour[code] = ForceBehaviour(
            under_refer=under.get(code, 0.0),
            late=late.get(code, 0.0),
            under_categorise=under_categorise.get(code, 0.0),
            deteriorate_from=day,
            deteriorate=rate,
            over_refer=over.get(code, 0.0),
            inflate_from=inflate_from,
            inflate=inflate,
        )
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

        oversight = None
        if args.oversight:
            from refmon.simulation.oversight import OversightSim

            oversight = OversightSim(config.seed)

        def write(line: str) -> None:
            # Malformed-input noise may carry lone surrogates: they become invalid UTF-8 bytes.
            out.write(line.encode("utf-8", "surrogateescape"))
            if oversight is not None:
                oversight.feed(line)

        with Progress(
            config.days,
            enabled=env.stderr_isatty and not args.quiet,
            stream=env.stderr,
            what="days",
        ) as bar:
            stats = simulate(config, load_forces(), write, lambda day: bar.update(day, day))
        actions = 0
        if oversight is not None:
            from refmon.simulation.oversight import lines

            found = oversight.actions()
            for line in lines(found):
                out.write(line.encode())
            actions = len(found)
        out.flush()
        files.commit()
    if not args.quiet:
        print(
            f"refmon: simulated {stats.cases} cases ({stats.mandatory} mandatory), "
            f"{stats.events + actions} events, {stats.lines + actions} lines"
            + (f" ({actions} outlier actions)" if args.oversight else ""),
            file=env.stderr,
        )
    return ExitStatus.OK
