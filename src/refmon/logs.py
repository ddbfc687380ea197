"""Logging for every command: a level and a format from flags or the environment.

`--log-level` sets refmon's own loggers; the Kafka clients' stay at WARNING
(their INFO is a line per group event) unless the level is DEBUG. Lines go to
standard error, as text or as one JSON object each (for a log collector).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, Literal, TextIO

from refmon.environment import UsageError
from refmon.streams.worker.logs import Repeats

Format = Literal["text", "json"]
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS: Final[tuple[Format, ...]] = ("text", "json")
ENV_LEVEL: Final = "REFMON_LOG_LEVEL"
ENV_FORMAT: Final = "REFMON_LOG_FORMAT"
DEFAULT_LEVEL: Final = "INFO"
LIBRARIES: Final = ("aiokafka", "kafka")
TEXT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, RFC 3339), level, logger, message[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)


NOT_READY: Final = frozenset(
    {
        "GroupCoordinatorNotAvailableError",
        "CoordinatorNotAvailableError",
        "NotLeaderForPartitionError",
        "LeaderNotAvailableError",
    }
)
"""Kafka's "not ready yet" answers, which clients retry."""


class NotReadyYet(logging.Filter):
    """aiokafka's ERRORs while the cluster is still getting ready for us, as INFO.

    A normal start logs them: on a consumer group's first use the broker creates
    its offsets topic and answers "coordinator not available" until it has
    (aiokafka: group_coordinator.ensure_coordinator_known), and just after
    `refmon topics create` a new partition has no leader for a moment (fetcher:
    "Failed fetch offsets"). aiokafka logs each at ERROR and retries; only an
    error that stays is a problem, and the worker's own lines report that.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aiokafka") and record.levelno == logging.ERROR:
            args = record.args if isinstance(record.args, tuple) else ()
            if any(_not_ready(arg) for arg in args):
                record.levelno, record.levelname = logging.INFO, "INFO"
                return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def _not_ready(arg: object) -> bool:
    return type(arg).__name__ in NOT_READY and bool(getattr(arg, "retriable", False))


def choose(
    level: str | None, fmt: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str, Format]:
    """Flags win over the environment; a bad value is a usage error naming where it came from."""
    environ = os.environ if environ is None else environ
    chosen = (level or environ.get(ENV_LEVEL) or DEFAULT_LEVEL).upper()
    if chosen not in LEVELS:
        where = "--log-level" if level else ENV_LEVEL
        raise UsageError(f"{where} {chosen[:20]!r}: use one of {', '.join(LEVELS)}")
    shape = (fmt or environ.get(ENV_FORMAT) or "text").lower()
    if shape not in FORMATS:
        where = "--log-format" if fmt else ENV_FORMAT
        raise UsageError(f"{where} {shape[:20]!r}: use text or json")
    return chosen, "json" if shape == "json" else "text"


def configure(level: str, fmt: Format, stream: TextIO) -> None:
    """Replaces any handler an earlier call installed (in-process callers run many commands)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT))
    handler.addFilter(NotReadyYet())
    handler.addFilter(Repeats())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "refmon", False)]:
        root.removeHandler(old)
    handler.refmon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    # Other libraries (matplotlib, ...) stay at WARNING; refmon's loggers pass their
    # records to this handler whatever the root's level.
    root.setLevel(logging.WARNING)
    logging.getLogger("refmon").setLevel(level)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")
