"""`refmon generate alertmanager|dashboards|check`: the operations files, from code."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from types import ModuleType

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.ops.alertmanager import FORCE_URL_TEMPLATE, OPS_URL, OVERSIGHT_URL, Receivers
from refmon.outputs import stale_files

MISSING_EXTRA = "this command needs the ops extra: pip install 'refmon[ops]'"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "generate", help="write the Alertmanager config and Grafana dashboards from code"
    )
    sub = p.add_subparsers(dest="generate_command", metavar="ACTION", required=True)

    am = sub.add_parser(
        "alertmanager",
        help="Alertmanager config routing each force's alerts to that force only",
        description="Print an Alertmanager config with one webhook receiver per force in "
        "forces.csv, the oversight team's and the operators'.",
    )
    am.add_argument(
        "--force-url",
        default=FORCE_URL_TEMPLATE,
        metavar="TEMPLATE",
        help="each force's webhook; {force} becomes its code (default: %(default)s)",
    )
    am.add_argument(
        "--force-urls",
        metavar="CSV",
        help="per-force webhooks overriding the template: a CSV file with columns force,url",
    )
    am.add_argument("--oversight-url", default=OVERSIGHT_URL, metavar="URL")
    am.add_argument("--ops-url", default=OPS_URL, metavar="URL")
    am.add_argument("--output", default="-", metavar="FILE", help="default: standard output")
    am.set_defaults(handler=alertmanager_command)

    dashboards = sub.add_parser("dashboards", help="write the Grafana dashboards' JSON")
    dashboards.add_argument(
        "--output", default="grafana/dashboards", metavar="DIR", help="default: %(default)s"
    )
    dashboards.set_defaults(handler=dashboards_command)

    check = sub.add_parser(
        "check", help="exit 1 if a committed generated file differs from what the code makes"
    )
    check.add_argument(
        "--root", default=".", metavar="DIR", help="the repository (default: current directory)"
    )
    check.set_defaults(handler=check_command)


def _read_force_urls(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    if rows and not {"force", "url"} <= set(rows[0]):
        raise UsageError(f"{path}: expected the columns force,url")
    return {row["force"].strip(): row["url"].strip() for row in rows}


def _artifacts() -> ModuleType:
    """The generators, which need the ops extra (pyyaml, grafana-foundation-sdk)."""
    try:
        from refmon.ops import (
            artifacts,
            grafana,  # noqa: F401  (fail here, not halfway through)
        )
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None
    return artifacts


def alertmanager_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if "{force}" not in args.force_url:
        raise UsageError("--force-url must contain {force}")
    artifacts = _artifacts()
    receivers = Receivers(
        force_url_template=args.force_url,
        oversight_url=args.oversight_url,
        ops_url=args.ops_url,
        force_urls=_read_force_urls(args.force_urls),
    )
    try:
        text = artifacts.alertmanager_yaml(receivers)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.output == "-":
        env.stdout.write(text)
    else:
        _write(Path(args.output), text)
    return ExitStatus.OK


def dashboards_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    folder = Path(args.output)
    files = _artifacts().dashboard_files()
    for name, text in files.items():
        _write(folder / name, text)
    print(f"refmon: wrote {len(files)} dashboards to {folder}", file=env.stderr)
    return ExitStatus.OK


def check_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    root = Path(args.root)
    stale = stale_files(root, _artifacts().artifact_files())
    for path in stale:
        env.error(f"{root / path} is not current; run `refmon generate` (see docs/development.md)")
    return ExitStatus.ERROR if stale else ExitStatus.OK


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None
