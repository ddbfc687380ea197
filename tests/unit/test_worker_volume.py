"""The worker announces a force's `volume_anomaly` as it does `deterioration`: once, from
the worker holding the force, opened and then resolved."""

from __future__ import annotations

from refmon.streams.engine.counts import ForceCounts, MonthCounts
from refmon.streams.engine.report import ForceRow, cross_force
from refmon.streams.worker.force_findings import ForceFindings

from refmon import bootstrap

USUAL = (40, 44, 38, 42, 41, 39, 43, 40, 41, 39)


def rows(dur_latest: int) -> list[ForceRow]:
    def months(*recorded: int) -> tuple[MonthCounts, ...]:
        return tuple(
            MonthCounts(f"2025-{n + 1:02d}", n, n + 1, False, recorded=r)
            for n, r in enumerate(recorded)
        )

    counts = {
        "DUR": ForceCounts(recorded=1, monthly=months(*USUAL, dur_latest)),
        "MER": ForceCounts(recorded=1, monthly=months(*USUAL, 40)),
    }
    return list(cross_force(counts, {})[0])


def test_the_holder_announces_the_anomaly_once_and_its_resolution() -> None:
    announcer = ForceFindings(bootstrap.build().engine.ruleset)
    opened = announcer.changes(rows(3000), {"DUR", "MER"})
    assert [(c.change, c.finding.kind, c.finding.force) for c in opened] == [
        ("opened", "volume_anomaly", "DUR")
    ]
    assert announcer.changes(rows(3000), {"DUR", "MER"}) == []
    resolved = announcer.changes(rows(40), {"DUR", "MER"})
    assert [(c.change, c.finding.kind) for c in resolved] == [("resolved", "volume_anomaly")]


def test_a_worker_not_holding_the_force_announces_nothing() -> None:
    announcer = ForceFindings(bootstrap.build().engine.ruleset)
    assert announcer.changes(rows(3000), {"MER"}) == []
