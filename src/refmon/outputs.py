"""Output files named on the command line (`-` is standard output), opened before any work."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
