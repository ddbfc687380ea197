"""`refmon bulletin`: a publishable bulletin (HTML and CSV) from a report.

Imports matplotlib and Jinja2 only when it runs, so that the other commands
(and `refmon run` above all) start without them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path

from refmon.commands.run import peer_groups_option
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.report_model import printable

MIN_BELOW = 5
"""Whatever the threshold, a count from 1 to 4 is never published."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "bulletin",
        help="write a bulletin (one HTML page and CSV tables) from a report",
        description="Writes DIR/index.html, one self-contained page (funnel plots, monthly "
        "series, CUSUM charts, tables, methods), and a CSV file per table, from the report of "
        "`refmon run` or `refmon report`. Needs the `report` extra: pip install 'refmon[report]'.",
    )
    p.add_argument(
        "--report", required=True, metavar="PATH|-", help="the report (JSON); - for stdin"
    )
    p.add_argument(
        "--output", required=True, metavar="DIR", help="folder to write (created if missing)"
    )
    p.add_argument(
        "--force", metavar="CODE", help="that force's own bulletin instead of the national one"
    )
    p.add_argument(
        "--suppress-below",
        type=int,
        default=8,
        metavar="N",
        help="suppress counts from 1 to N-1 (default 8: 1 to 7, at least 5); others are "
        "rounded to the nearest 5 (docs/disclosure.md)",
    )
    p.add_argument(
        "--findings",
        metavar="PATH",
        help="the findings (JSON Lines) of the same run: adds DIR/internal/worklist.csv, the "
        "open findings still to act on, for oversight staff only (not for publication)",
    )
    p.add_argument(
        "--peer-groups",
        metavar="FILE",
        help="compare each force with these groups (CSV `force,group`) instead of the report's "
        "(by default the police regions)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no summary line")
    p.set_defaults(handler=bulletin_command)


def _read(path: str, env: Environment) -> str:
    if path == "-":
        return env.stdin.read().decode("utf-8")
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise UsageError(f"cannot read {path}: {reason}") from None


def _folder(path: str) -> Path:
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output {path}: not a directory")
    if not folder.parent.is_dir():
        raise UsageError(f"--output {path}: no directory {folder.parent}")
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--output {path}: not writable")
    if not folder.exists() and not os.access(folder.parent, os.W_OK | os.X_OK):
        raise UsageError(f"--output {path}: {folder.parent} is not writable")
    return folder


def _same(given: str, target: Path) -> bool:
    if os.path.realpath(given) == os.path.realpath(target):
        return True
    try:
        return os.path.samefile(given, target)
    except OSError:
        return False


def _never_over_inputs(folder: Path, names: list[str], inputs: dict[str, str | None]) -> None:
    """No file the bulletin writes may be one it reads (`--output` over its own `--report`)."""
    for option, given in inputs.items():
        if given is None or given == "-":
            continue
        for name in names:
            if _same(given, folder / name):
                raise UsageError(f"--output {folder} would overwrite {option} {given}")


def _write(folder: Path, files: dict[str, str]) -> None:
    """Each file to a temporary name beside it, renamed into place once all are written. On a
    failure no file is replaced, and folders made here are removed again."""
    fresh = [d for d in dict.fromkeys([folder, *((folder / n).parent for n in files)])]
    fresh = [d for d in fresh if not d.exists()]
    written: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            target = folder / name
            target.parent.mkdir(exist_ok=True)
            fd, part = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".part", dir=target.parent
            )
            written.append((name, Path(part)))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(part, 0o644)
        for name, temporary in written:
            os.replace(temporary, folder / name)
        written.clear()
    finally:
        for _, temporary in written:
            temporary.unlink(missing_ok=True)
        if written:
            for made in reversed(fresh):
                with contextlib.suppress(OSError):
                    made.rmdir()


def bulletin_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if args.suppress_below < MIN_BELOW:
        raise UsageError(
            f"--suppress-below must be at least {MIN_BELOW}: counts from 1 to 4 are never published"
        )
    folder = _folder(args.output)
    groups = peer_groups_option(args.peer_groups)
    text = _read(args.report, env)
    findings = None if args.findings is None else _read(args.findings, env)
    try:
        from refmon.bulletin.data import ReportError, read_report
        from refmon.bulletin.disclosure import Rule
        from refmon.bulletin.internal import NOTICE, WORKLIST, notice, read_findings, worklist_csv
        from refmon.bulletin.oversight import read_oversight, regroup
        from refmon.bulletin.public import month_end, public_view
        from refmon.bulletin.render import render
    except ImportError as err:
        raise UsageError(
            f"the bulletin needs the report extra ({err.name} is missing): "
            "pip install 'refmon[report]'"
        ) from None
    try:
        report = read_report(text)
        oversight = read_oversight(text, report)
        if groups is not None:
            oversight = regroup(oversight, report, groups)
        held = None if findings is None else read_findings(findings)
    except ReportError as err:
        where = args.report if findings is None or "findings" not in str(err) else args.findings
        raise UsageError(f"{where}: {err}") from None
    if not month_end(report.as_of):
        raise UsageError(
            f"{args.report}: as of {report.as_of}, not a month end: a bulletin is cut at a month "
            "end (00:00 UK time on the 1st), so that bulletins a day apart cannot be subtracted; "
            "make the report with refmon run --as-of at a month end"
        )
    codes = [r.force for r in report.forces]
    if args.force is not None and args.force not in codes:
        raise UsageError(f"--force {printable(args.force)!r}: not a force in the report")
    files = render(public_view(report, Rule(below=args.suppress_below)), args.force, oversight)
    if held is not None:
        files[WORKLIST] = worklist_csv(held, report.as_of, args.force)
        files[NOTICE] = notice(report.as_of)
    _never_over_inputs(folder, list(files), {"--report": args.report, "--findings": args.findings})
    _write(folder, files)
    if not args.quiet:
        what = f"{args.force}'s bulletin" if args.force else "national bulletin"
        extra = f", and {WORKLIST} (internal: not for publication)" if held is not None else ""
        tables = sum(n.endswith(".csv") and "/" not in n for n in files)
        print(
            f"refmon: {what}: {folder / 'index.html'} and {tables} CSV file(s){extra}",
            file=env.stderr,
        )
    return ExitStatus.OK
