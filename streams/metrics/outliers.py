"""The outlier family (docs/contract.md section 14): outliers by force, measure and
state, and the overdue ones by force and who owes the action. Counts only, never an
outlier id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge
from refmon.streams.engine.outlier_model import AWAITS, MEASURES, Outlier, OutlierState


class OutlierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outliers = Gauge(
            "refmon_outliers",
            "Outliers (docs/contract.md section 14), by force, measure and state; closed ones "
            "included.",
            ["force", "measure", "state"],
            registry=registry,
        )
        self.outliers_overdue = Gauge(
            "refmon_outliers_overdue",
            "Open outliers past the deadline of the action they await, by force and by who owes "
            "it (watchdog or force).",
            ["force", "owner"],
            registry=registry,
        )

    def sync(self, outliers: Iterable[Outlier], forces: Iterable[str]) -> None:
        """Outliers counted by force, measure and state, and the overdue ones by force and
        owner: counts only, never an outlier id (section 14). Every combination of a force
        with a row is set, to 0 when it has none, so an alert clears when its count does."""
        counts, overdue = outlier_counts(outliers)
        for force in dict.fromkeys([*forces, *(f for f, _, _ in counts)]):
            for measure in MEASURES:
                for state in STATES:
                    self.outliers.labels(force, measure, state).set(counts[(force, measure, state)])
            for owner in OWNERS:
                self.outliers_overdue.labels(force, owner).set(overdue[(force, owner)])


STATES: tuple[OutlierState, ...] = (*AWAITS, "closed")
OWNERS = ("watchdog", "force")


def outlier_counts(
    outliers: Iterable[Outlier],
) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str]]]:
    """(force, measure, state) -> outliers, and (force, owner) -> overdue open ones."""
    counts: Counter[tuple[str, str, str]] = Counter()
    overdue: Counter[tuple[str, str]] = Counter()
    for o in outliers:
        counts[(o.force, o.measure, o.state)] += 1
        if o.overdue and o.owner is not None:
            overdue[(o.force, o.owner)] += 1
    return counts, overdue
