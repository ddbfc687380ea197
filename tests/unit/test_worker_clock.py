"""On Kafka the clock moves no further than the broker time of the input message that
brought an event (docs/contract.md section 13; issue 18 item 9, issue 19): live and restored."""

from __future__ import annotations

import json
from typing import Any

from refmon.schemas import event_adapter
from refmon.streams.engine.timeutil import MICROS_PER_HOUR, end_of_following_day, format_utc
from refmon.streams.kafka.state import Held
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Delivery, Source, decode_delivery, encode_delivery
from refmon.streams.worker.intake import Intake, WatchdogIds
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.messages import Counts

from refmon import bootstrap
from tests.factories import engine_event, micros, recorded

TOPICS = Topics("refmon")
LONDON = __import__("zoneinfo").ZoneInfo("Europe/London")
SERIOUS = {"categories": ["serious_assault"]}
MER_DUTY = "2026-03-09T12:00:00Z"
NOW_US = end_of_following_day(micros(MER_DUTY), LONDON) - (5 * 60 + 48) * 60_000_000
AHEAD = format_utc(NOW_US + 23 * MICROS_PER_HOUR)


def forwarded(events: list[tuple[dict[str, Any], str]]) -> list[Delivery]:
    """Each event through intake as a message the broker stamped at NOW_US."""
    intake = Intake(event_adapter(), TOPICS, WatchdogIds(TOPICS.watchdog_ids), Counts())
    found: list[Delivery] = []
    for offset, (raw, source) in enumerate(events):
        data = json.dumps(raw).encode()
        for send in intake.take(TOPICS.input(source), 0, offset, NOW_US // 1000, data):
            assert send.topic == TOPICS.by_force, send
            found.append(decode_delivery(send.value or b""))
    return found


def mer_findings(judge: PartitionJudge) -> list[str]:
    return [f.kind for f in judge.engine.findings() if f.force == "MER"]


STREAM = [(recorded(MER_DUTY, case="m1", force="MER", **SERIOUS), "MER"), (recorded(AHEAD), "DUR")]


def test_intake_forwards_the_broker_time_of_the_input_message() -> None:
    assert [d.received_at_us for d in forwarded(STREAM)] == [NOW_US, NOW_US]


def test_a_force_dated_ahead_on_the_same_partition_moves_no_other_force_deadline() -> None:
    judge = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts())
    judged = judge.judge(forwarded(STREAM))
    assert judge.engine.clock == NOW_US
    assert mer_findings(judge) == []
    assert judged.outputs == []


def test_a_restored_partition_keeps_the_clock_where_the_received_times_put_it() -> None:
    live = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts())
    state = live.judge(forwarded(STREAM)).state
    restored = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts())
    list(restored.restore(Held([decode_delivery(s.value or b"") for s in state], [])))
    assert restored.engine.clock == NOW_US
    assert mer_findings(restored) == []


def test_a_delivery_without_a_received_time_is_still_the_format_it_always_was() -> None:
    plain = Delivery(Source("DUR", 0, 5), engine_event(recorded(AHEAD)))
    stamped = plain._replace(received_at_us=NOW_US)
    assert json.loads(encode_delivery(plain))[0] == 1
    assert json.loads(encode_delivery(stamped))[0] == 2
    assert decode_delivery(encode_delivery(plain)) == plain
    assert decode_delivery(encode_delivery(stamped)) == stamped
