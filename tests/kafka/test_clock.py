"""On Kafka a force's event dated ahead changes no other force's findings (docs/contract.md
section 13; issue 18 item 9): the clock moves no further than the input message's broker time."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from refmon.streams.engine.timeutil import end_of_following_day, format_utc, to_micros
from refmon.streams.kafka.topics import Topics

from tests.factories import micros, recorded
from tests.kafka.conftest import Broker, Deployment
from tests.kafka.test_worker import read_topic

LONDON = __import__("zoneinfo").ZoneInfo("Europe/London")
SERIOUS = {"categories": ["serious_assault"]}
AHEAD_US = (23 * 60 + 30) * 60_000_000  # accepted: under the 24-hour bound


def a_deadline_the_event_ahead_would_pass() -> tuple[str, int]:
    """A duty (yesterday noon, London) whose deadline (tonight) lies between ten minutes and
    23 h 20 min from now: an event dated 23 h 30 min ahead would pass it, a real clock not.
    Within ten minutes of midnight, wait for a day in which that holds."""
    while True:
        now = datetime.now(LONDON)
        duty = (now - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
        deadline = end_of_following_day(to_micros(duty), LONDON)
        ahead = deadline - to_micros(now)
        if 10 * 60_000_000 < ahead < AHEAD_US - 10 * 60_000_000:
            return format_utc(to_micros(duty)), deadline
        time.sleep(60)


def test_a_force_dated_ahead_on_the_same_partition_changes_no_other_force_findings(
    broker: Broker, tmp_path: Path
) -> None:
    # One by-force partition: every force shares the engine DUR's clock would move.
    deployment = Deployment(broker, f"t{uuid.uuid4().hex[:12]}", tmp_path, partitions=1)
    deployment.create_topics()
    try:
        topics = Topics(deployment.prefix)
        duty, deadline = a_deadline_the_event_ahead_would_pass()
        mer = tmp_path / "mer.jsonl"
        mer.write_text(json.dumps(recorded(duty, case="m1", force="MER", **SERIOUS)) + "\n")
        deployment.start_worker("w1", "--clock", "event")
        deployment.publish(mer)
        deployment.wait_for(valid=1)
        published = time.time_ns() // 1000
        dur = tmp_path / "dur.jsonl"
        dur.write_text(json.dumps(recorded(format_utc(published + AHEAD_US))) + "\n")
        deployment.publish(dur)
        report = deployment.wait_for(valid=2)
        assert report["events"]["invalid"] == 0  # DUR's event was accepted, not refused
        assert published <= micros(report["as_of"]) < deadline
        found: list[dict[str, Any]] = [
            json.loads(r.value) for r in read_topic(deployment, topics.findings, timeout=3)
        ]
        assert [f for f in found if f["force"] == "MER"] == []
        assert read_topic(deployment, topics.alerts("MER"), timeout=1) == []
    finally:
        deployment.stop_all()
