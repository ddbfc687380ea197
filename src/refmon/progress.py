"""A progress bar on standard error, shown only on a terminal (tqdm)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm


class Progress:
    """Bytes read of a known total, or lines read when the size is unknown (stdin)."""

    def __init__(
        self, total_bytes: int | None, *, enabled: bool, stream: TextIO, what: str = "events"
    ) -> None:
        self._by_bytes = total_bytes is not None
        self._bar: tqdm[Any] | None = None
        if enabled:
            self._bar = tqdm(
                total=total_bytes,
                unit="B" if self._by_bytes else " lines",
                unit_scale=True,
                desc=f"refmon: {what}",
                file=stream,
                leave=False,
                mininterval=0.25,
            )
        self._done = 0

    def update(self, done_bytes: int, done_lines: int) -> None:
        if self._bar is None:
            return
        done = done_bytes if self._by_bytes else done_lines
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
