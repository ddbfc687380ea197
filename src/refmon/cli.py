"""`refmon`: the command line. `main()` returns an exit status (see ExitStatus)."""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Sequence

from refmon import __version__, logs
from refmon.commands import (
    alerts,
    bulletin,
    diff,
    explain,
    findings,
    generate,
    healthcheck,
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
    ):
        module.add_parser(commands)
    return parser


class TerminatedError(Exception):
    """SIGTERM, as a container runtime sends to stop us: exit as a signal would."""


def _terminate(signum: int, frame: object) -> None:
    raise TerminatedError


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    if env is None:
        # As process 1 in a container nothing else would stop us on SIGTERM;
        # in-process callers (tests) keep their own handlers.
        signal.signal(signal.SIGTERM, _terminate)
    env = env or Environment()
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
    except TerminatedError:
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
