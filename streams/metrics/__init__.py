"""Prometheus metrics shared by the embedded runner and the Kafka worker, one module per
family: activity, statistics (the cross-force view), delays, outliers, pipeline (Kafka).

Labels are forces, event types, reasons, finding kinds, measures, states and owners:
small closed sets. Never a case id, an event id or an outlier id.
"""

from refmon.streams.metrics.activity import Activity
from refmon.streams.metrics.delays import ReferralDelayCollector
from refmon.streams.metrics.outliers import OWNERS, STATES, outlier_counts
from refmon.streams.metrics.refmon_metrics import RefmonMetrics

__all__ = [
    "OWNERS",
    "STATES",
    "Activity",
    "ReferralDelayCollector",
    "RefmonMetrics",
    "outlier_counts",
]
