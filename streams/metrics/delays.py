"""The referral delays: a histogram per force, from the engines' own bucket counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from prometheus_client import utils as _client_utils
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from refmon.streams.engine.delays import DelayHistogram

# The client's own formatting of `le`, so these buckets read like its Histogram's.
_float_to_go_string = cast(Callable[[float], str], _client_utils.floatToGoString)


class ReferralDelayCollector(Collector):
    """Exposes the latest referral-delay snapshot as a histogram per force.

    The main thread swaps in a whole new dict; the HTTP thread only reads the
    reference, so a scrape never sees half an update.
    """

    def __init__(self) -> None:
        self.histograms: dict[str, DelayHistogram] = {}

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(
            "refmon_force_referral_delay_seconds",
            "Duty-to-referral delay of referred mandatory cases whose duty arose in the window.",
            labels=["force"],
        )
        for force, histogram in sorted(self.histograms.items()):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(
                (*(b / 1_000_000 for b in histogram.bounds_us), float("inf")),
                histogram.counts,
                strict=True,
            ):
                cumulative += count
                buckets.append((_float_to_go_string(bound), cumulative))
            family.add_metric([force], buckets, histogram.sum_us / 1_000_000)
        yield family
