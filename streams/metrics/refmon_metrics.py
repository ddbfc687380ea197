"""`RefmonMetrics`: every family on one registry, synced the same way by both runners."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from refmon.streams.engine import ForceRow
from refmon.streams.engine.delays import DelayHistogram
from refmon.streams.engine.outlier_model import Outlier
from refmon.streams.engine.report import National
from refmon.streams.metrics.activity import Activity, ActivityMetrics
from refmon.streams.metrics.delays import ReferralDelayCollector
from refmon.streams.metrics.outliers import OutlierMetrics
from refmon.streams.metrics.pipeline import PipelineMetrics
from refmon.streams.metrics.statistics import StatisticsMetrics


class RefmonMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.activity = ActivityMetrics(registry)
        self.statistics = StatisticsMetrics(registry, self.activity.findings_open)
        self.delays = ReferralDelayCollector()
        registry.register(self.delays)
        self.pipeline = PipelineMetrics(registry)
        self.outliers = OutlierMetrics(registry)

    @property
    def refetched(self) -> PromCounter:
        return self.pipeline.refetched

    def sync_activity(self, activity: Activity) -> None:
        """The fast-moving half: counters, open findings, the clock, what is held."""
        self.activity.sync(activity)

    def sync_statistics(
        self,
        rows: Iterable[ForceRow],
        national: National,
        delays: Mapping[str, DelayHistogram],
        outliers: Iterable[Outlier] = (),
    ) -> None:
        """The slow half: the cross-force view, the referral delays and the outliers, every
        few seconds."""
        rows = tuple(rows)
        self.statistics.sync(rows, national)
        self.sync_delays(delays)
        self.outliers.sync(outliers, [row.force for row in rows])

    def sync_rows(self, rows: Iterable[ForceRow], national: National) -> None:
        self.statistics.sync(rows, national)

    def sync_outliers(self, outliers: Iterable[Outlier], forces: Iterable[str]) -> None:
        self.outliers.sync(outliers, forces)

    def sync_delays(self, histograms: Mapping[str, DelayHistogram]) -> None:
        self.delays.histograms = dict(histograms)

    def sync_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        self.pipeline.sync_lag(lags)

    def sync_stalled(self, stalled: Iterable[tuple[str, int]]) -> None:
        self.pipeline.sync_stalled(stalled)
