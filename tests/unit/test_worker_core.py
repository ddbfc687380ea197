"""The worker's core without Kafka: routing, idempotence, rebuilds."""

from __future__ import annotations

import json

from refmon.schemas import event_adapter
from refmon.streams.decode import DeadLetter
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker.core import Forward, WorkerCore

from refmon import bootstrap
from tests.factories import received, recorded

TOPICS = Topics("refmon")


def core() -> WorkerCore:
    return WorkerCore(lambda: bootstrap.build().engine, event_adapter(), TOPICS)


def forward(c: WorkerCore, event: dict[str, object], topic: str, offset: int) -> Forward:
    result = c.intake(topic, 0, offset, json.dumps(event).encode())
    assert isinstance(result, Forward)
    return result


def test_intake_routes_valid_events_and_rejects_those_on_the_wrong_topic() -> None:
    c = core()
    ok = forward(c, recorded("2026-02-02T10:00:00Z"), TOPICS.input("DUR"), 1)
    assert ok.key == b"DUR"
    assert json.loads(ok.value)["source"] == "refmon.in.DUR:0:1"
    wrong = c.intake(
        TOPICS.input("MPS"), 0, 2, json.dumps(recorded("2026-02-02T10:00:00Z")).encode()
    )
    assert isinstance(wrong, DeadLetter)
    assert wrong.rejection.code == "force_mismatch"
    receipt = c.intake(
        TOPICS.input("DUR"), 0, 3, json.dumps(received("2026-02-03T10:00:00Z")).encode()
    )
    assert isinstance(receipt, DeadLetter)
    assert "refmon.in.watchdog" in receipt.rejection.message
    assert c.counts.rejected["force_mismatch"] == 2


def test_a_redelivery_changes_nothing_but_is_stored_again_to_repair_the_changelog() -> None:
    c = core()
    message = forward(
        c,
        recorded("2026-02-02T10:00:00Z", categories=["serious_assault"], assessed=False),
        TOPICS.input("DUR"),
        7,
    )
    prepared = c.prepare(message.value)
    entry, sent = c.judge(0, prepared, None)
    assert entry is not None
    assert len(sent) == 2  # the finding, to the findings topic and DUR's alerts
    again, resent = c.judge(0, c.prepare(message.value), entry)
    assert again == entry
    assert resent == []
    assert (c.engine.valid, c.engine.duplicate, c.counts.duplicates) == (1, 0, 0)


def test_the_same_event_from_another_source_is_one_duplicate_however_often_redelivered() -> None:
    c = core()
    event = recorded("2026-02-02T10:00:00Z")
    first = forward(c, event, TOPICS.input("DUR"), 1)
    copy = forward(c, event, TOPICS.input("DUR"), 2)
    entry, _ = c.judge(0, c.prepare(first.value), None)
    entry, _ = c.judge(0, c.prepare(copy.value), entry)
    entry, _ = c.judge(0, c.prepare(copy.value), entry)
    assert entry is not None
    assert c.engine.duplicate == 1
    rebuilt = core()
    rebuilt.rebuild([("DUR/c1", entry)], {0})
    assert (rebuilt.engine.valid, rebuilt.engine.duplicate) == (1, 1)


def test_a_rebuild_keeps_only_the_partitions_this_worker_owns() -> None:
    c = core()
    a = forward(c, recorded("2026-02-02T10:00:00Z", case="a"), TOPICS.input("DUR"), 1)
    b = forward(c, recorded("2026-02-02T10:00:00Z", case="b", force="MPS"), TOPICS.input("MPS"), 1)
    entry_a, _ = c.judge(0, c.prepare(a.value), None)
    entry_b, _ = c.judge(1, c.prepare(b.value), None)
    assert entry_a is not None
    assert entry_b is not None
    c.rebuild([("DUR/a", entry_a), ("MPS/b", entry_b)], {1})
    assert c.engine.case_count() == 1
    assert c.engine.snapshot("MPS", "b") is not None
