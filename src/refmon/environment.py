"""The CLI's view of the outside world, injectable so that tests run commands in-process."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import BinaryIO, TextIO


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    """Something went wrong while running (an output could not be written, ...)."""
    USAGE = 2
    """Unusable arguments or an unreadable input."""
    INTERRUPTED = 130
    TERMINATED = 143
    """Stopped by SIGTERM (128 + 15), as a container runtime stops it."""


class UsageError(Exception):
    """Bad arguments or an input that cannot be read: exit status 2."""


@dataclass
class Environment:
    stdin: BinaryIO = field(default_factory=lambda: sys.stdin.buffer)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stderr_isatty: bool = field(default_factory=lambda: sys.stderr.isatty())
    wall_clock: Callable[[], float] = time.time
    """Seconds since the epoch: when input is received, for the future-timestamp rule."""

    def now_us(self) -> int:
        return int(self.wall_clock() * 1_000_000)

    def error(self, message: str) -> None:
        print(f"refmon: error: {message}", file=self.stderr)

    def warn(self, message: str) -> None:
        print(f"refmon: warning: {message}", file=self.stderr)
