"""`refmon run`: the embedded runner (docs/contract.md section 10)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, TextIO

from refmon import bootstrap, summary
from refmon.endpoint import add_address_option
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.outputs import Outputs, check_outputs
from refmon.progress import Progress
from refmon.schemas.forces import force_codes
from refmon.streams.engine import Report, Ruleset, RulesetError
from refmon.streams.engine.peers import PeerGroups
from refmon.streams.peer_groups import PeerGroupsError, read_peer_groups
from refmon.streams.rulesets import DEFAULT_RULESET, load_ruleset_file
from refmon.streams.runner.embedded import RunStats, run_lines
from refmon.streams.runner.lines import DEFAULT_MAX_LINE_BYTES, Line, read_lines
from refmon.streams.wire.dead_letters import DeadLetter, dumps_dead_letter
from refmon.streams.wire.encode import dumps_finding, dumps_report
from refmon.timestamps import parse_cli_timestamp

REPORT_REFRESH_SECONDS = 5.0
MAX_WINDOW_DAYS = 36_525
"""A century: every window start stays a date datetime can hold, whatever the as-of."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "run",
        help="judge a JSON Lines stream of events and write the report and findings",
        description="Reads JSON Lines events, applies them, and at the end writes the report "
        "(JSON) and the findings (JSON Lines, the final state of every finding).",
    )
    p.add_argument(
        "--input",
        required=True,
        metavar="PATH|-",
        help="events, one JSON object a line; - for stdin",
    )
    p.add_argument(
        "--as-of", metavar="RFC3339", help="advance the clock to this time at the end (never back)"
    )
    p.add_argument(
        "--ruleset",
        metavar="PATH",
        help="judge by this ruleset file instead of ew-2020.1 (a what-if; see refmon diff)",
    )
    p.add_argument(
        "--window-days", type=int, default=365, metavar="N", help="statistics window (default 365)"
    )
    p.add_argument(
        "--findings", metavar="PATH|-", help="write every finding's final state here (JSON Lines)"
    )
    p.add_argument(
        "--report", metavar="PATH|-", default="-", help="write the report here (default: stdout)"
    )
    p.add_argument(
        "--dead-letter",
        metavar="PATH|-",
        help="write rejected lines here with line number and reason",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve Prometheus metrics on this port (0: any free)",
    )
    p.add_argument(
        "--peer-groups",
        metavar="FILE",
        help="compare each force with these groups (CSV `force,group`; default: the police "
        "regions)",
    )
    add_address_option(p)
    p.add_argument(
        "--keep-serving",
        action="store_true",
        help="after the run, keep serving metrics until interrupted",
    )
    p.add_argument(
        "--max-line-bytes",
        type=int,
        default=DEFAULT_MAX_LINE_BYTES,
        metavar="N",
        help=argparse.SUPPRESS,
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar, summary or per-line warnings"
    )
    p.set_defaults(handler=run_command)


def open_input(path: str, env: Environment) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return env.stdin, None
    if os.path.isdir(path):
        raise UsageError(f"cannot read {path}: it is a directory")
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the caller's ExitStack
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    # Pipes and process substitution have no size: progress then counts lines.
    return handle, os.path.getsize(path) if os.path.isfile(path) else None


def check_window_days(days: int) -> None:
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise UsageError(f"--window-days must be between 1 and {MAX_WINDOW_DAYS:,}")


def _check(args: argparse.Namespace, env: Environment, now_us: int) -> tuple[int | None, Outputs]:
    check_window_days(args.window_days)
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError("--metrics-port must be between 0 and 65535")
    if args.keep_serving and args.metrics_port is None:
        raise UsageError("--keep-serving needs --metrics-port")
    if args.max_line_bytes < 64:
        raise UsageError("--max-line-bytes must be at least 64")
    as_of = None if args.as_of is None else parse_cli_timestamp("--as-of", args.as_of, now_us)
    outputs = check_outputs(
        {"--findings": args.findings, "--report": args.report, "--dead-letter": args.dead_letter},
        inputs={"--input": args.input},
        stdin=env.stdin,
    )
    return as_of, outputs


def _dead_letter_writer(
    out: TextIO | None, env: Environment, quiet: bool
) -> Callable[[DeadLetter], None]:
    def write(letter: DeadLetter) -> None:
        if out is not None:
            out.write(dumps_dead_letter(letter) + "\n")
        elif not quiet:
            # Logs name the line and the reason only: never the rejected payload.
            env.warn(f"line {letter.source.get('line')} rejected: {letter.rejection.message}")

    return write


def _ruleset(path: str | None) -> str | Ruleset:
    if path is None:
        return DEFAULT_RULESET
    try:
        return load_ruleset_file(path)
    except RulesetError as err:
        raise UsageError(f"--ruleset {err}") from None


def peer_groups_option(path: str | None) -> PeerGroups | None:
    """`--peer-groups FILE`, read before anything is written (a bad file: exit 2)."""
    if path is None:
        return None
    try:
        return read_peer_groups(Path(path), force_codes())
    except PeerGroupsError as err:
        raise UsageError(f"--peer-groups {err}") from None


def run_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    received_at_us = env.now_us()
    as_of, outputs = _check(args, env, received_at_us)
    groups = peer_groups_option(args.peer_groups)
    wiring = bootstrap.build(_ruleset(args.ruleset), groups)
    bootstrap.tune_gc()
    engine = wiring.engine
    with ExitStack() as stack:
        source, size = open_input(args.input, env)
        if source is not env.stdin:
            stack.callback(source.close)
        files = stack.enter_context(outputs.open(env))
        findings_out = files.text("--findings")
        report_out = files.text("--report")
        dead_out = files.text("--dead-letter")
        metrics = None
        if args.metrics_port is not None:
            from refmon.serve import start_metrics  # prometheus_client only when asked for

            metrics, endpoint = start_metrics(args.metrics_port, args.metrics_address)
            if not args.quiet:
                print(f"refmon: metrics on {endpoint}", file=env.stderr)
        progress = stack.enter_context(
            Progress(size, enabled=env.stderr_isatty and not args.quiet, stream=env.stderr)
        )
        last_report = [time.monotonic()]

        def refresh(stats: RunStats, report: Report) -> None:
            from refmon.streams.metrics import Activity

            assert metrics is not None
            metrics.sync_activity(
                Activity.of([engine], stats.events, stats.rejected, engine.forces)
            )
            metrics.sync_statistics(
                report.forces,
                report.national,
                engine.referral_delays(args.window_days),
                report.outliers,
            )

        def on_batch(stats: RunStats) -> None:
            progress.update(stats.bytes, stats.lines)
            if metrics is not None:
                from refmon.streams.metrics import Activity

                metrics.sync_activity(
                    Activity.of([engine], stats.events, stats.rejected, engine.forces)
                )
                if time.monotonic() - last_report[0] >= REPORT_REFRESH_SECONDS:
                    refresh(stats, engine.report(args.window_days, stats.invalid))
                    last_report[0] = time.monotonic()

        lines: Iterator[Line] = read_lines(source, args.max_line_bytes)
        stats = run_lines(
            lines,
            engine,
            wiring.adapter,
            _dead_letter_writer(dead_out, env, args.quiet),
            on_batch,
            received_at_us=received_at_us,
        )
        progress.close()
        if as_of is not None:
            if engine.clock is not None and as_of < engine.clock:
                env.warn("--as-of is earlier than the latest event; the clock does not go back")
            engine.advance(as_of)
        report = engine.report(args.window_days, stats.invalid)
        if report_out is not None:
            report_out.write(dumps_report(report))
        if findings_out is not None:
            for finding in engine.findings():
                findings_out.write(dumps_finding(finding))
        # Only a completed run replaces the files it was given.
        files.commit()
        if metrics is not None:
            refresh(stats, report)
        if not args.quiet:
            env.stderr.write(summary.render(report, engine.pending_count()))
            if stats.invalid and dead_out is None:
                env.warn(f"{stats.invalid} line(s) rejected; pass --dead-letter PATH to keep them")
    if args.keep_serving:
        print("refmon: run complete; serving metrics until interrupted", file=env.stderr)
        while True:
            time.sleep(3600)
    return ExitStatus.OK
