"""A worker's configuration: flags and environment, checked before anything starts."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics

Clock = Literal["wall", "event"]


def default_instance_id(data_dir: Path) -> str:
    """Stable for one worker across restarts (its host and state folder), distinct between two.

    Used as Kafka's static membership id: a worker restarted after a crash takes
    its own place in the group at once, without waiting for its old session to
    time out, and without moving anyone's partitions.
    """
    where = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"refmon-{socket.gethostname()}-{where}"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    kafka: KafkaSettings
    topics: Topics
    data_dir: Path
    sources: tuple[str, ...]
    """Every input source: the force codes and the watchdog."""
    instance_id: str
    clock: Clock = "wall"
    partitions: int = 6
    tick_seconds: float = 1.0
    stats_seconds: float = 15.0
    window_days: int = 365
    """The cross-force window: `refmon run`'s default, which `refmon report` also uses."""
    retire_after_days: int = 30
    """Cases are retired once everything about them is this many days older than the
    window (streams/engine/retirement.py)."""
    retire_seconds: float = 60.0
    """How often a worker looks for cases to retire."""
    session_timeout_s: float = 15.0
    stall_seconds: float = 30.0
    clock_start_us: int | None = None
    """Test clock: the wall clock starts here instead of now..."""
    clock_speed: float = 1.0
    """...and runs this many times faster."""
    metrics_port: int | None = None

    @property
    def forces(self) -> tuple[str, ...]:
        return tuple(s for s in self.sources if s != "watchdog")
