"""The Kafka pipeline's own family: consumer lag, stalled partitions, records refetched,
partition restores (the embedded runner leaves them unset)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PromCounter


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumer_lag = Gauge(
            "refmon_consumer_lag_messages",
            "Messages on a consumed partition not yet processed by this worker (Kafka only).",
            ["topic", "partition"],
            registry=registry,
        )
        self.stalled = Gauge(
            "refmon_partition_stalled",
            "1 while a consumed partition has lag and its position has not moved (Kafka only).",
            ["topic", "partition"],
            registry=registry,
        )
        self.refetched = PromCounter(
            "refmon_records_refetched",
            "Records the consumer skipped, fetched again and judged in order (Kafka only).",
            registry=registry,
        )
        self.restore_seconds = Histogram(
            "refmon_partition_restore_seconds",
            "Time to rebuild a newly assigned partition's state, by loop (intake, judge) and "
            "what it was rebuilt from (snapshot, changelog) (Kafka only).",
            ["loop", "source"],
            # A snapshot's restore takes a second or two, a whole changelog's up to minutes.
            buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
            registry=registry,
        )
        self._lag_labels: set[tuple[str, str]] = set()
        self._stalled_labels: set[tuple[str, str]] = set()

    def sync_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Set each assigned partition's lag; partitions no longer assigned disappear."""
        wanted = {(topic, str(partition)): lag for (topic, partition), lag in lags.items()}
        for labels in set(self._lag_labels) - set(wanted):
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(*labels)
        for labels, lag in wanted.items():
            self.consumer_lag.labels(*labels).set(lag)
        self._lag_labels = set(wanted)

    def sync_stalled(self, stalled: Iterable[tuple[str, int]]) -> None:
        """1 for each stalled partition, 0 for the others this worker has marked before."""
        now = {(topic, str(partition)) for topic, partition in stalled}
        for labels in self._stalled_labels | now:
            self.stalled.labels(*labels).set(1 if labels in now else 0)
        self._stalled_labels |= now
