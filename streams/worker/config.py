"""A worker's configuration: flags and environment, checked before anything starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics

Clock = Literal["wall", "event"]
Store = Literal["rocksdb", "memory"]


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    kafka: KafkaSettings
    topics: Topics
    data_dir: Path
    store: Store = "rocksdb"
    clock: Clock = "wall"
    partitions: int = 6
    tick_seconds: float = 1.0
    clock_start_us: int | None = None
    """Test clock: the wall clock starts here instead of now..."""
    clock_speed: float = 1.0
    """...and runs this many times faster."""
    metrics_port: int | None = None
