"""`refmon`: the command line. `main()` returns an exit status (see ExitStatus)."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from refmon import __version__, collector, logs, termination
from refmon.commands import (
    alerts,
    bulletin,
    diff,
    explain,
    findings,
    generate,
    healthcheck,
    outlier,
    outliers,
    publish,
    report,
    rules,
    run,
    schema,
    simulate,
    topics,
    worker,
)
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.streams.engine import RulesetError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refmon",
        description="Monitors police complaint and conduct cases for timely mandatory "
        "referral to the IOPC.",
    )
    parser.add_argument("--version", action="version", version=f"refmon {__version__}")
    parser.add_argument("--traceback", action="store_true", help="print a traceback on errors")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=logs.LEVELS,
        help=f"refmon's log lines from this level up (default {logs.DEFAULT_LEVEL}, "
        f"or {logs.ENV_LEVEL}); the Kafka clients' from WARNING unless DEBUG",
    )
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help=f"text (default) or json, one object a line (or {logs.ENV_FORMAT})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        run,
        simulate,
        rules,
        schema,
        topics,
        publish,
        worker,
        report,
        bulletin,
        diff,
        explain,
        generate,
        healthcheck,
        alerts,
        findings,
        outliers,
        outlier,
    ):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    if env is not None:
        # In-process callers (tests) keep their own handlers and their process.
        return _main(argv, env)
    # As process 1 in a container nothing else would stop us on SIGTERM.
    termination.install()
    collector.pace()
    status = _main(argv, Environment())
    if status == ExitStatus.TERMINATED:
        termination.exit_now(status)  # never blocks on a pipe nobody reads
    return status


def _main(argv: Sequence[str] | None, env: Environment) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        logs.configure(*logs.choose(args.log_level, args.log_format), env.stderr)
        return int(args.handler(args, env))
    except UsageError as err:
        env.error(str(err))
        return ExitStatus.USAGE
    except RulesetError as err:
        env.error(f"ruleset: {err}")
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        env.stderr.write("\n")
        return ExitStatus.INTERRUPTED
    except termination.TerminatedError:
        return ExitStatus.TERMINATED
    except BrokenPipeError:
        return ExitStatus.ERROR
    except Exception as err:  # the last line of defence: one clear line, detail on request
        if args.traceback:
            traceback.print_exc(file=env.stderr)
        env.error(f"{type(err).__name__}: {err}")
        return ExitStatus.ERROR


if __name__ == "__main__":
    sys.exit(main())
