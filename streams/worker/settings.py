"""A worker's settings: one object, from REFMON_* variables, with flags winning over them.

Each field's environment variable is `REFMON_` and its name in capitals
(`session_timeout`: REFMON_SESSION_TIMEOUT), and its flag is its name with
dashes (`--session-timeout`), except those named in FLAGS. The Kafka
connection is its own object (streams/kafka/settings.py, REFMON_KAFKA_*),
shared with every other Kafka command. `refmon worker --print-config` shows
the effective values, secrets masked.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict
from refmon.streams.kafka.settings import ENV_PREFIX as KAFKA_ENV_PREFIX
from refmon.streams.kafka.settings import KAFKA_FLAGS, KafkaCommandSettings
from refmon.streams.kafka.topics import WATCHDOG

__all__ = [
    "ENV_PREFIX",
    "FLAGS",
    "Clock",
    "WorkerSettings",
    "default_instance_id",
    "env_of",
    "flag_of",
]

Clock = Literal["wall", "event"]
ENV_PREFIX = "REFMON_"


def default_instance_id(data_dir: Path) -> str:
    """Stable for one worker across restarts (its host and state folder), distinct between two.

    Used as Kafka's static membership id: a worker restarted after a crash takes
    its own place in the group at once, without waiting for its old session to
    time out, and without moving anyone's partitions.
    """
    where = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"refmon-{socket.gethostname()}-{where}"


class WorkerSettings(KafkaCommandSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    clock: Clock = "wall"
    data_dir: Path = Path("refmon-data")
    instance_id: str | None = None
    """None: from the host name and the data folder (`default_instance_id`)."""
    partitions: int | None = Field(None, ge=1)
    """None: read from the topics at start (startup.py); given, it must match them."""
    metrics_port: int | None = Field(None, ge=0, le=65535)
    metrics_address: str = "127.0.0.1"
    """Metrics name forces and their compliance: this host only unless asked."""
    session_timeout: float = Field(15.0, ge=6)
    stall_seconds: float = Field(30.0, gt=0)
    retire_after_days: int = Field(30, ge=0)
    """Cases are retired once everything about them is this many days older than the
    window (streams/engine/retirement.py)."""
    retire_seconds: float = Field(60.0, gt=0)
    """How often a worker looks for cases to retire."""
    snapshot_seconds: float = Field(60.0, ge=0)
    """How often, at most, a worker writes each by-force partition's snapshot into
    `data_dir` (streams/worker/snapshot.py), for a restart to read instead of the whole
    changelog; 0: never, and restarts read the whole changelog."""
    tick_seconds: float = Field(1.0, gt=0)
    stats_seconds: float = Field(15.0, gt=0)
    delivery: Literal["exactly-once", "at-least-once"] = "exactly-once"
    """Exactly once: a transaction per input partition's batch (lanes.py); at least
    once: outputs confirmed before offsets are committed (kept to measure the cost)."""
    test_clock_start: str | None = None
    """Test clock: the wall clock starts here (RFC 3339) instead of now..."""
    test_clock_speed: float = Field(1.0, gt=0)
    """...and runs this many times faster."""
    store: Literal["rocksdb", "memory"] | None = None
    """No longer used (state lives in Kafka): accepted so old manifests still start."""

    window_days: ClassVar[int] = 365
    """The cross-force window: `refmon run`'s default, which `refmon report` also uses."""

    @model_validator(mode="after")
    def _identity(self) -> WorkerSettings:
        if self.instance_id is None:
            object.__setattr__(self, "instance_id", default_instance_id(self.data_dir))
        return self

    @property
    def forces(self) -> tuple[str, ...]:
        from refmon.schemas import load_forces

        return tuple(f.code for f in load_forces())

    @property
    def sources(self) -> tuple[str, ...]:
        """Every input source: the force codes and the watchdog."""
        return (*self.forces, WATCHDOG)

    @property
    def partition_count(self) -> int:
        """The partition count, once start-up has read or checked it (`with_partitions`)."""
        if self.partitions is None:
            raise ValueError("the partition count is read from the topics before the worker runs")
        return self.partitions

    def with_partitions(self, count: int) -> WorkerSettings:
        return self.model_copy(update={"partitions": count})

    @property
    def member_id(self) -> str:
        assert self.instance_id is not None  # filled in by validation
        return self.instance_id

    def shown(self) -> dict[str, Any]:
        """The effective settings, secrets masked, each under its environment variable."""
        values = self.model_dump(mode="json", exclude={"kafka"})
        shown = {ENV_PREFIX + k.upper(): v for k, v in values.items()}
        kafka = self.kafka.model_dump(mode="json")
        shown |= {KAFKA_ENV_PREFIX + k.upper(): v for k, v in kafka.items()}
        return dict(sorted(shown.items()))


FLAGS: dict[str, str] = {**{f"kafka.{k}": v for k, v in KAFKA_FLAGS.items()}}
"""Fields whose flag is not their name with dashes."""


def flag_of(field: str) -> str:
    """A field's flag; `kafka.x` names a connection field."""
    return FLAGS.get(field, "--" + field.removeprefix("kafka.").replace("_", "-"))


def env_of(field: str) -> str:
    """A field's environment variable; `kafka.x` names a connection field."""
    if field.startswith("kafka."):
        return KAFKA_ENV_PREFIX + field.removeprefix("kafka.").upper()
    return ENV_PREFIX + field.upper()
