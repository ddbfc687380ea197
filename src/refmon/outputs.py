"""Output files named on the command line (`-` is standard output), opened before any work."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from refmon.environment import Environment, UsageError


@contextlib.contextmanager
def open_output(path: str | None, env: Environment) -> Iterator[TextIO | None]:
    if path is None:
        yield None
        return
    if path == "-":
        yield env.stdout
        return
    try:
        handle = Path(path).open("w", encoding="utf-8")  # noqa: SIM115 - `with` just below
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None
    with handle:
        yield handle


def stale_files(root: Path, files: Mapping[str, str]) -> list[str]:
    """Which of `files` (relative path -> expected text) are missing under `root` or differ."""
    return [
        name
        for name, text in files.items()
        if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
    ]
