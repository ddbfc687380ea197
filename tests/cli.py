"""Running `refmon` in-process with an injected environment."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from refmon.cli import main
from refmon.environment import Environment


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], stdin: bytes = b"") -> Result:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.BytesIO(stdin), stdout=out, stderr=err, stderr_isatty=False)
    status = main(list(args), env)
    return Result(status, out.getvalue(), err.getvalue())
