"""Outliers on the worker (docs/contract.md section 14): each partition publishes what the
review points need, anyone combines them into the outliers one engine gives, and the
holder of a force announces its `outlier_overdue` findings, to the force only when the
force owes the step."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from refmon.streams.engine import Engine
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.review_inputs import read
from refmon.streams.worker.force_findings import OutlierFindings
from refmon.streams.worker.messages import Outbound
from refmon.streams.worker.outliers import ReviewPublisher, combined_outliers

from refmon import bootstrap
from tests.factories import _apply, judge, micros, recorded
from tests.outlier_world import action, background

TOPICS = Topics("t")
FORCES = bootstrap.build().engine.ruleset
CHECKED = action("outlier.checked", "2025-12-10T10:00:00Z", "w-check", outcome="confirmed")
NOTIFIED = action("outlier.notified", "2025-12-19T09:00:00Z", "w-notify")
RESPONDED = action("outlier.responded", "2026-02-02T09:00:00Z", "f-respond")


def partitioned(events: Iterable[dict[str, Any]], as_of: str) -> dict[int, Engine]:
    """DUR's events (its actions included) on partition 0, every other force's on 1."""
    engines = {0: bootstrap.build().engine, 1: bootstrap.build().engine}
    for raw in events:
        _apply(engines[0 if raw["force"] == "DUR" else 1], raw)
    for engine in engines.values():
        engine.advance(micros(as_of))
    return engines


def deliver(values: dict[str, Any], sends: Iterable[Outbound]) -> None:
    """What the compacted force-counts changelog holds once these are sent."""
    for send in sends:
        assert send.key is not None
        assert send.value is not None
        values[json.loads(send.key)] = json.loads(send.value)


def published(engines: Mapping[int, Engine], rounds: int = 2) -> dict[str, Any]:
    publisher = ReviewPublisher(TOPICS.force_counts_changelog, 365)
    values: dict[str, Any] = {}
    for _ in range(rounds):  # each learns the others' first event and clock, then catches up
        sends = publisher.publish(engines, read(values), FORCES.zone)
        deliver(values, sends)
        publisher.sent(sends)
    return values


def combined(values: Mapping[str, Any], partitions: int = 2) -> Any:
    engine = bootstrap.build().engine
    return combined_outliers(
        read(values), engine.forces, partitions, engine.ruleset.zone, engine.holidays
    )


def test_the_partitions_inputs_combine_into_the_outliers_one_engine_gives() -> None:
    # The response is sent before its outlier opens and arrives first: kept, applied.
    events = [RESPONDED, *background(), NOTIFIED, CHECKED, CHECKED]
    one = judge(events, "2026-03-10T00:00:00Z")
    values = published(partitioned(events, "2026-03-10T00:00:00Z"))
    found = combined(values)
    assert found == one.outliers(365)
    assert [(o.outlier_id, o.state) for o in found] == [("compliance-2025-11", "under_review")]


def test_nothing_is_combined_until_every_partition_has_published_the_same_review_points() -> None:
    engines = partitioned(background(), "2026-01-05T00:00:00Z")
    assert combined(published({0: engines[0]})) is None
    assert combined(published(engines, rounds=1) | {}, partitions=3) is None
    assert combined(published(engines)) is not None


def test_a_partition_publishes_only_what_changed() -> None:
    engines = partitioned(background(), "2026-01-05T00:00:00Z")
    publisher = ReviewPublisher(TOPICS.force_counts_changelog, 365)
    values: dict[str, Any] = {}

    def step() -> list[str]:
        sends = publisher.publish(engines, read(values), FORCES.zone)
        deliver(values, sends)
        publisher.sent(sends)
        return sorted(json.loads(s.key or b"") for s in sends)

    assert step()
    step()
    assert step() == []
    # A new action: its outlier's record, nothing else.
    _apply(engines[0], CHECKED)
    assert step() == ["outliers/actions/DUR/compliance-2025-11"]
    # A case dated before both review points: DUR's counts at each, nothing else.
    _apply(engines[0], recorded("2025-11-20T10:00:00Z", case="late", force="DUR"))
    assert step() == [
        f"outliers/review/DUR/{micros('2025-12-01T00:00:00Z')}",
        f"outliers/review/DUR/{micros('2026-01-01T00:00:00Z')}",
    ]


def test_a_send_that_failed_is_published_again() -> None:
    engines = partitioned(background(), "2026-01-05T00:00:00Z")
    publisher = ReviewPublisher(TOPICS.force_counts_changelog, 365)
    first = publisher.publish(engines, read({}), FORCES.zone)
    assert first
    assert publisher.publish(engines, read({}), FORCES.zone) == first  # never confirmed


def announce(
    announcer: OutlierFindings, as_of: str, *actions: dict[str, Any]
) -> list[tuple[str, str, str]]:
    engine = judge([*background(), *actions], as_of)
    return [
        (o.topic, json.loads(o.value or b"")["change"], json.loads(o.value or b"")["status"])
        for o in announcer.messages(engine.outliers(365), {"DUR"})
    ]


def test_the_force_is_told_only_of_the_steps_it_owes_and_of_their_end() -> None:
    announcer = OutlierFindings(TOPICS, "ew-2020.1", FORCES.zone)
    alerts = TOPICS.alerts("DUR")
    # The watchdog's data check overdue: the findings topic only.
    assert announce(announcer, "2025-12-20T00:00:00Z") == [(TOPICS.findings, "opened", "open")]
    # Checked late and notified: the force's response is overdue, the force is told.
    assert announce(announcer, "2026-02-10T00:00:00Z", CHECKED, NOTIFIED) == [
        (TOPICS.findings, "updated", "open"),
        (alerts, "updated", "open"),
    ]
    # It responds: the finding resolves, and the force hears that too.
    assert announce(announcer, "2026-02-10T00:00:00Z", CHECKED, NOTIFIED, RESPONDED) == [
        (TOPICS.findings, "resolved", "resolved"),
        (alerts, "resolved", "resolved"),
    ]


def test_a_worker_announces_only_the_outliers_of_forces_it_holds() -> None:
    engine = judge(background(), "2025-12-20T00:00:00Z")
    announcer = OutlierFindings(TOPICS, "ew-2020.1", FORCES.zone)
    assert announcer.messages(engine.outliers(365), {"MPS"}) == []
    assert len(announcer.messages(engine.outliers(365), {"DUR"})) == 1


def test_new_events_alone_recount_a_partition_at_most_every_so_often() -> None:
    engines = partitioned(background(), "2026-01-05T00:00:00Z")
    publisher = ReviewPublisher(TOPICS.force_counts_changelog, 365, every_seconds=60)
    values: dict[str, Any] = {}

    def step(now: float) -> list[str]:
        sends = publisher.publish(engines, read(values), FORCES.zone, now)
        deliver(values, sends)
        publisher.sent(sends)
        return sorted(json.loads(s.key or b"") for s in sends)

    step(0)
    step(1)
    _apply(engines[0], recorded("2025-11-20T10:00:00Z", case="late", force="DUR"))
    assert step(30) == []
    assert len(step(61)) == 2  # DUR's counts at both review points
    # A new review point is counted at once.
    _apply(engines[0], recorded("2025-11-21T10:00:00Z", case="later", force="DUR"))
    engines[0].advance(micros("2026-02-02T00:00:00Z"))
    assert f"outliers/review/DUR/{micros('2026-02-01T00:00:00Z')}" in step(62)


def test_a_worker_new_to_a_force_tells_it_of_the_end_of_a_step_it_owed() -> None:
    # The response came late while no worker held DUR: the new holder's first view has
    # the finding resolved, and the force was owed it (docs/contract.md section 14).
    engine = judge([*background(), CHECKED, NOTIFIED, RESPONDED], "2026-02-10T00:00:00Z")
    announcer = OutlierFindings(TOPICS, "ew-2020.1", FORCES.zone)
    sent = announcer.messages(engine.outliers(365), {"DUR"})
    assert [(o.topic, json.loads(o.value or b"")["status"]) for o in sent] == [
        (TOPICS.findings, "resolved"),
        (TOPICS.alerts("DUR"), "resolved"),
    ]
