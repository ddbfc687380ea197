"""The case changelog's topic settings: compaction must actually run (docs/kafka.md)."""

from __future__ import annotations

from refmon.streams.kafka.topics import DAY_MS, Topics


def test_the_case_changelog_closes_segments_hourly_so_that_compaction_runs() -> None:
    topics = Topics("refmon")
    [spec] = [s for s in topics.specs(["DUR"]) if s.name == topics.cases_changelog]
    assert spec.config["cleanup.policy"] == "compact"
    # Kafka cleans closed segments only: the default (a week, or 1 GiB) kept years of a
    # partition's deliveries in its one open segment.
    assert int(spec.config["segment.ms"]) <= DAY_MS
    assert float(spec.config["min.cleanable.dirty.ratio"]) <= 0.5
    # A restore reading from the start must still see a deletion it passes.
    assert int(spec.config["delete.retention.ms"]) >= 60 * 60 * 1000
