"""`refmon bulletin`: a publishable bulletin (HTML and CSV) from a report.

Imports matplotlib and Jinja2 only when it runs, so that the other commands
(and `refmon run` above all) start without them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from refmon.environment import Environment, ExitStatus, UsageError


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
        default=5,
        metavar="N",
        help='show counts from 1 to N-1 as "<N" (default 5)',
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
    folder.mkdir(exist_ok=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--output {path}: not writable")
    return folder


def _write(folder: Path, files: dict[str, str]) -> None:
    """Each file to a temporary name beside it, renamed into place once all are written."""
    written: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            fd, part = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(part, 0o644)
            written.append((name, Path(part)))
        for name, temporary in written:
            os.replace(temporary, folder / name)
    finally:
        for _, temporary in written:
            temporary.unlink(missing_ok=True)


def bulletin_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if args.suppress_below < 1:
        raise UsageError("--suppress-below must be at least 1")
    text = _read(args.report, env)
    try:
        from refmon.bulletin.data import ReportError, read_report
        from refmon.bulletin.render import render
    except ImportError as err:
        raise UsageError(
            f"the bulletin needs the report extra ({err.name} is missing): "
            "pip install 'refmon[report]'"
        ) from None
    try:
        report = read_report(text)
    except ReportError as err:
        raise UsageError(f"{args.report}: {err}") from None
    codes = [r["force"] for r in report["forces"]]
    if args.force is not None and args.force not in codes:
        raise UsageError(f"--force {args.force[:64]!r}: not a force in the report")
    folder = _folder(args.output)
    files = render(report, args.suppress_below, args.force)
    _write(folder, files)
    if not args.quiet:
        what = f"{args.force}'s bulletin" if args.force else "national bulletin"
        print(
            f"refmon: {what}: {folder / 'index.html'} and {len(files) - 1} CSV file(s)",
            file=env.stderr,
        )
    return ExitStatus.OK
