"""Stopping on SIGTERM, as a container runtime stops us: promptly, and without changing a result."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import TextIO

__all__ = ["FLUSH_BOUND_S", "TerminatedError", "exit_now", "install"]

FLUSH_BOUND_S = 2.0
"""How long exiting may spend handing buffered output to stdout and stderr."""


class TerminatedError(BaseException):
    """SIGTERM arrived: unwind and exit as the signal would.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on
    the way (such as the one that turns a failing event into a dead letter)
    mistakes being stopped for a fault of the data and carries on.
    """


def _terminate(signum: int, frame: object) -> None:
    raise TerminatedError


def install() -> None:
    """Raise TerminatedError in the main thread on SIGTERM."""
    signal.signal(signal.SIGTERM, _terminate)


def exit_now(status: int, streams: tuple[TextIO, ...] | None = None) -> None:
    """Flush what is buffered for at most FLUSH_BOUND_S, then end the process.

    An ordinary exit flushes stdout and stderr with no bound: with a pipe that
    nobody reads (a full stderr) it would block for ever after SIGTERM. The
    flush runs on a daemon thread that os._exit abandons if it is still stuck.
    """
    targets = (sys.stdout, sys.stderr) if streams is None else streams
    # A second SIGTERM while flushing must not escape as an exception into an
    # ordinary (unbounded) exit.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def flush() -> None:
        for stream in targets:
            # Closed or broken: nothing more can be said.
            with contextlib.suppress(OSError, ValueError):
                stream.flush()

    flusher = threading.Thread(target=flush, name="exit-flush", daemon=True)
    flusher.start()
    flusher.join(FLUSH_BOUND_S)
    os._exit(status)
