"""`refmon schema export|check`: the JSON Schema files of the contract."""

from __future__ import annotations

import argparse
from pathlib import Path

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.outputs import stale_files
from refmon.schemas.export import schema_files


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("schema", help="export the event contract as JSON Schema files")
    sub = p.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="write the schema files into a folder")
    export.add_argument(
        "--output", default="schemas/json", metavar="DIR", help="default: schemas/json"
    )
    export.set_defaults(handler=export_command)
    check = sub.add_parser("check", help="exit 1 if the files in a folder differ from the models")
    check.add_argument(
        "--output", default="schemas/json", metavar="DIR", help="default: schemas/json"
    )
    check.set_defaults(handler=check_command)


def export_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    folder = Path(args.output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in schema_files().items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {folder}: {err.strerror}") from None
    print(f"refmon: wrote {len(schema_files())} schema files to {folder}", file=env.stderr)
    return ExitStatus.OK


def check_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    folder = Path(args.output)
    stale = stale_files(folder, schema_files())
    for name in stale:
        env.error(f"{folder / name} is not current; run `refmon schema export`")
    return ExitStatus.ERROR if stale else ExitStatus.OK
