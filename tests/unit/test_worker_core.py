"""The worker's core without Kafka: routing, the time rule, ids, idempotence, restoring."""

from __future__ import annotations

import json
from typing import Any

from refmon.schemas import event_adapter
from refmon.streams.kafka.state import Held
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Delivery, decode_delivery
from refmon.streams.worker.intake import Intake, WatchdogIds
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.messages import Counts, Outbound, case_record_key

from refmon import bootstrap
from tests.factories import closed, micros, received, recorded, referred

TOPICS = Topics("refmon")
NOW_MS = micros("2026-03-01T00:00:00Z") // 1000
SERIOUS = {"categories": ["serious_assault"]}


def intake(counts: Counts | None = None, watchdog: WatchdogIds | None = None) -> Intake:
    return Intake(
        event_adapter(),
        TOPICS,
        watchdog or WatchdogIds(TOPICS.watchdog_ids),
        counts or Counts(),
    )


def take(stage: Intake, event: dict[str, Any], source: str, offset: int) -> list[Outbound]:
    return stage.take(TOPICS.input(source), 0, offset, NOW_MS, json.dumps(event).encode())


def forwarded(sends: list[Outbound]) -> Delivery:
    [forward] = [s for s in sends if s.topic == TOPICS.by_force]
    return decode_delivery(forward.value or b"")


def reasons(sends: list[Outbound]) -> list[str]:
    return [json.loads(s.value or b"")["reason"] for s in sends if s.topic == TOPICS.dead_letter]


def judge_for(counts: Counts | None = None) -> PartitionJudge:
    return PartitionJudge(0, bootstrap.new_engine(), TOPICS, counts or Counts())


def test_intake_forwards_a_valid_event_by_force_in_the_compact_encoding() -> None:
    sends = take(intake(), recorded("2026-02-02T10:00:00Z", **SERIOUS), "DUR", 7)
    [forward] = sends
    assert (forward.topic, forward.key) == (TOPICS.by_force, b"DUR")
    delivery = forwarded(sends)
    assert (str(delivery.source), delivery.event.case_id) == ("DUR:0:7", "c1")


def test_intake_dead_letters_an_event_on_the_wrong_topic_keyed_by_where_it_was() -> None:
    counts = Counts()
    stage = intake(counts)
    wrong = take(stage, recorded("2026-02-02T10:00:00Z"), "MPS", 2)
    receipt = take(stage, received("2026-02-03T10:00:00Z"), "DUR", 3)
    assert reasons(wrong) == reasons(receipt) == ["force_mismatch"]
    assert wrong[0].key == b"refmon.in.MPS:0:2"
    assert "refmon.in.watchdog" in json.loads(receipt[0].value or b"")["message"]
    assert counts.rejected["force_mismatch"] == 2


def test_intake_refuses_an_event_more_than_a_day_after_the_broker_received_it() -> None:
    sends = take(intake(), recorded("2026-03-02T00:00:01Z"), "DUR", 1)
    assert reasons(sends) == ["future_timestamp"]
    assert forwarded(take(intake(), recorded("2026-03-01T23:59:59Z"), "DUR", 1))


def test_intake_catches_a_watchdog_id_reused_for_another_force_whoever_holds_the_forces() -> None:
    stage = intake()
    first = received("2026-02-03T10:00:00Z", force="DUR")
    reuse = {
        **received("2026-02-03T10:00:00Z", case="z", force="MPS"),
        "event_id": first["event_id"],
    }
    sent = take(stage, first, "watchdog", 1)
    assert {s.topic for s in sent} == {TOPICS.watchdog_ids, TOPICS.by_force}
    assert reasons(take(stage, reuse, "watchdog", 2)) == ["conflicting_duplicate"]
    assert [s.topic for s in take(stage, first, "watchdog", 1)] == [TOPICS.by_force]  # redelivered
    assert [s.topic for s in take(stage, first, "watchdog", 3)] == [TOPICS.by_force]  # duplicate


def test_the_watchdog_index_survives_a_restart_through_its_topic() -> None:
    stage = intake()
    first = received("2026-02-03T10:00:00Z", force="DUR")
    writes = [s for s in take(stage, first, "watchdog", 1) if s.topic == TOPICS.watchdog_ids]
    index = WatchdogIds(TOPICS.watchdog_ids)
    index.load((s.key or b"", s.value) for s in writes)
    reuse = {
        **received("2026-02-03T11:00:00Z", case="z", force="MPS"),
        "event_id": first["event_id"],
    }
    assert reasons(take(intake(watchdog=index), reuse, "watchdog", 9)) == ["conflicting_duplicate"]


def deliveries(*events: tuple[dict[str, Any], str, int]) -> list[Delivery]:
    stage = intake()
    return [forwarded(take(stage, e, source, offset)) for e, source, offset in events]


def test_the_judge_applies_once_what_is_forwarded_or_delivered_again() -> None:
    counts = Counts()
    judge = judge_for(counts)
    event = recorded("2026-02-02T10:00:00Z", **SERIOUS, assessed=False)
    [delivery] = deliveries((event, "DUR", 7))
    first = judge.judge([delivery])
    assert [s.key for s in first.state] == [case_record_key(delivery)]
    assert {s.topic for s in first.outputs} == {TOPICS.findings, TOPICS.alerts("DUR")}
    again = judge.judge([delivery, delivery])
    assert again == ([], [], [])
    assert (judge.engine.valid, judge.engine.duplicate) == (1, 0)
    assert counts.events[("DUR", "case.recorded")] == 1


def test_the_judge_counts_a_real_duplicate_once_and_stores_it_to_count_it_after_a_restore() -> None:
    judge = judge_for()
    event = recorded("2026-02-02T10:00:00Z")
    held = deliveries((event, "DUR", 7), (event, "DUR", 9))
    judged = judge.judge(held)
    assert len(judged.state) == 2
    assert (judge.engine.valid, judge.engine.duplicate) == (1, 1)
    restored = judge_for()
    list(restored.restore(Held([decode_delivery(s.value or b"") for s in judged.state], [])))
    assert (restored.engine.valid, restored.engine.duplicate) == (1, 1)
    assert restored.judge(held) == ([], [], [])


def test_the_judge_refuses_a_conflicting_duplicate_and_keeps_nothing_of_it() -> None:
    judge = judge_for()
    first = recorded("2026-02-02T10:00:00Z", **SERIOUS)
    other = {**recorded("2026-02-02T10:00:00Z"), "event_id": first["event_id"]}
    judged = judge.judge(deliveries((first, "DUR", 1), (other, "DUR", 2)))
    assert len(judged.state) == 1
    assert [(str(r.source), r.rejection.code) for r in judged.refused] == [
        ("DUR:0:2", "conflicting_duplicate")
    ]


def test_a_restored_partition_judges_exactly_as_the_one_that_wrote_its_changelog() -> None:
    stream = [
        (recorded("2026-02-02T10:00:00Z", case="a", **SERIOUS), "DUR", 1),
        (referred("2026-02-05T10:00:00Z", case="a"), "DUR", 2),
        (recorded("2026-02-02T11:00:00Z", case="b", **SERIOUS), "DUR", 3),
        (received("2026-02-05T12:00:00Z", case="a"), "watchdog", 1),
        (closed("2026-02-06T10:00:00Z", case="b"), "DUR", 4),
    ]
    live = judge_for()
    state: list[Outbound] = []
    for delivery in deliveries(*stream):
        state += live.judge([delivery]).state
    restored = judge_for()
    steps = list(
        restored.restore(Held(list(reversed([decode_delivery(s.value or b"") for s in state])), []))
    )
    assert steps == []  # fewer than a chunk: restored in one go
    assert list(restored.engine.findings()) == list(live.engine.findings())
    assert restored.engine.report(365) == live.engine.report(365)


def test_force_findings_are_announced_once_as_they_open_and_resolve_for_held_forces() -> None:
    from dataclasses import replace

    from refmon.streams.engine.report import ForceCounts, cross_force
    from refmon.streams.worker.force_findings import ForceFindings

    rows, _ = cross_force({"DUR": ForceCounts(), "MPS": ForceCounts()}, {})
    at = micros("2026-02-04T00:00:00Z")

    def signalling(status: str) -> tuple[Any, ...]:
        return tuple(replace(r, timeliness_signalled_at=at, timeliness_status=status) for r in rows)

    announced = ForceFindings(bootstrap.new_engine().ruleset)
    opened = announced.changes(signalling("signal"), {"DUR"})
    assert [(c.change, c.finding.force, c.finding.status) for c in opened] == [
        ("opened", "DUR", "open")
    ]
    assert announced.changes(signalling("signal"), {"DUR"}) == []
    resolved = announced.changes(signalling("ok"), {"DUR"})
    assert [(c.change, c.finding.status) for c in resolved] == [("resolved", "resolved")]
    assert opened[0].finding.case_id is None
    assert opened[0].finding.detected_at == at


def test_a_partition_retires_old_cases_into_folded_records_and_restores_the_same_outputs() -> None:
    from refmon.streams.engine.timeutil import MICROS_PER_DAY
    from refmon.streams.kafka.state import decode_archive, late_key

    stream = [
        (recorded("2024-01-02T10:00:00Z", case="old", **SERIOUS), "DUR", 1),
        (recorded("2024-01-02T10:00:00Z", case="old", **SERIOUS), "DUR", 2),  # a duplicate
        (closed("2024-01-20T10:00:00Z", case="old"), "DUR", 3),
        (recorded("2025-06-01T10:00:00Z", case="new", **SERIOUS), "DUR", 4),
    ]
    live = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), frozenset({"DUR"}))
    changelog: dict[bytes, bytes | None] = {}
    for delivery in deliveries(*stream):
        for record in live.judge([delivery]).state:
            changelog[record.key or b""] = record.value
    before = list(live.engine.findings()), live.engine.valid, live.engine.duplicate
    folded, deletions = live.retire(395 * MICROS_PER_DAY)
    [archive] = folded
    assert [f.retired.case_id for f in decode_archive(archive.value or b"")] == ["old"]
    assert len(deletions) == 3
    assert all(d.value is None for d in deletions)
    for record in [*folded, *deletions]:
        changelog[record.key or b""] = record.value
    assert (list(live.engine.findings()), live.engine.valid, live.engine.duplicate) == before

    from refmon.streams.kafka.state import held

    # A repeat of a retired case's event, from a new offset: a duplicate, kept in the
    # partition's one record of such repeats (the case's own deliveries are folded).
    [repeat] = deliveries((stream[0][0], "DUR", 9))
    judged = live.judge([repeat])
    assert [r.key for r in judged.state] == [late_key(0)]
    assert live.engine.duplicate == before[2] + 1
    for record in judged.state:
        changelog[record.key or b""] = record.value

    restored = judge_for()
    list(restored.restore(held(changelog)))
    assert (list(restored.engine.findings()), restored.engine.valid) == (before[0], before[1])
    assert restored.engine.duplicate == before[2] + 1
    assert restored.judge([*deliveries(*stream), repeat]) == ([], [], [])  # none twice


def test_a_source_far_behind_holds_back_retirement_on_its_partition() -> None:
    """In a backfill one force's events can be judged years ahead of another's: a case of
    the force behind is not old merely because the partition's clock is far on."""
    from refmon.streams.engine.timeutil import MICROS_PER_DAY

    live = PartitionJudge(
        0, bootstrap.new_engine(), TOPICS, Counts(), sources=frozenset({"DUR", "MPS", "watchdog"})
    )
    ahead = recorded("2026-02-20T10:00:00Z", case="a", force="MPS")
    behind = recorded("2024-01-02T10:00:00Z", case="b", force="DUR")
    live.judge(deliveries((ahead, "MPS", 1), (behind, "DUR", 1)))
    assert live.retire(395 * MICROS_PER_DAY) == ([], [])  # DUR has only reached 2024
    live.judge(deliveries((closed("2025-12-01T10:00:00Z", case="c"), "DUR", 2)))
    assert live.retire(395 * MICROS_PER_DAY) == ([], [])  # the watchdog: nothing from it yet
    receipt = received("2025-12-02T10:00:00Z", case="c")
    live.judge(deliveries((receipt, "watchdog", 1)))
    folded, _ = live.retire(395 * MICROS_PER_DAY)
    assert len(folded) == 1  # every source is past 2025-12: DUR's 2024 case is old now
