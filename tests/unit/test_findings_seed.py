"""A worker that comes to hold a force starts its announcers from what the findings topic
holds (issue 22): what was announced is not announced again, what changed meanwhile is."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from refmon.streams.wire.finding_decode import decode_finding, finding_kind
from refmon.streams.worker.announced import Seeder, force_level
from refmon.streams.worker.force_findings import ForceFindings, OutlierFindings
from refmon.streams.worker.messages import Outbound

from refmon import bootstrap
from tests.factories import judge
from tests.outlier_world import background
from tests.unit.test_worker_outliers import CHECKED, FORCES, NOTIFIED, RESPONDED, TOPICS

LATE_RESPONSE = ("2026-02-10T00:00:00Z", CHECKED, NOTIFIED)  # the force's step, overdue
REVIEW_LATE = ("2026-04-15T00:00:00Z", CHECKED, NOTIFIED, RESPONDED)  # the watchdog's


def announcer() -> OutlierFindings:
    return OutlierFindings(TOPICS, "ew-2020.1", FORCES.zone)


def sent(findings: OutlierFindings, as_of: str, *actions: dict[str, Any]) -> list[Outbound]:
    engine = judge([*background(), *actions], as_of)
    return findings.messages(engine.outliers(365), {"DUR"})


def seeded(values: list[bytes]) -> OutlierFindings:
    fresh = announcer()
    fresh.seed([f for f in map(decode_finding, values) if f is not None], {"DUR"})
    return fresh


def test_a_finding_reads_back_as_it_was_announced() -> None:
    (message,) = sent(announcer(), "2025-12-20T00:00:00Z")
    assert message.value is not None
    finding = decode_finding(message.value)
    assert finding is not None
    assert finding.kind == finding_kind(message.value) == "outlier_overdue"
    assert force_level(message.value)
    body = json.loads(message.value)
    assert body["finding_id"] == finding.finding_id
    assert body["detected_at"].endswith("Z")
    assert decode_finding(b"not json") is None
    assert not force_level(b'{"finding_id":"fnd-1","kind":"missed_referral"}')


def test_what_the_topic_holds_is_not_announced_again_and_a_change_goes_where_it_would() -> None:
    # One worker announces throughout: the response overdue goes to the force, which then
    # hears of the update too (it was told of the finding as open).
    throughout = announcer()
    told = sent(throughout, *LATE_RESPONSE)
    assert [m.topic for m in told] == [TOPICS.findings, TOPICS.alerts("DUR")]
    expected = sent(throughout, *REVIEW_LATE)
    assert [json.loads(m.value or b"")["change"] for m in expected] == ["updated", "updated"]
    # Another worker takes DUR over from the findings topic: it repeats nothing, and the
    # change that follows goes out as the first worker would have sent it.
    taker = seeded([m.value for m in told if m.topic == TOPICS.findings and m.value])
    assert sent(taker, *LATE_RESPONSE) == []
    assert sent(taker, *REVIEW_LATE) == expected


def test_a_change_made_while_nobody_held_the_force_goes_out_as_its_change() -> None:
    throughout = announcer()
    told = sent(throughout, *LATE_RESPONSE)
    expected = sent(throughout, *REVIEW_LATE)
    taker = seeded([m.value for m in told if m.topic == TOPICS.findings and m.value])
    assert sent(taker, *REVIEW_LATE) == expected


def test_the_seed_of_one_force_leaves_the_others_as_they_were() -> None:
    findings = ForceFindings(bootstrap.build().engine.ruleset)
    (message,) = sent(announcer(), "2025-12-20T00:00:00Z")
    finding = decode_finding(message.value or b"")
    assert finding is not None
    volume = finding._replace(kind="volume_anomaly", finding_id="fnd-v", case_id=None)
    findings.seed([volume], {"MPS"})  # not DUR's holder: nothing taken
    assert findings.changes([], {"DUR"}) == []
    findings.seed([volume, finding], {"DUR"})  # only the kinds it announces
    (change,) = findings.changes([], {"DUR"})  # gone from the view: resolved
    assert (change.change, change.finding.finding_id) == ("resolved", "fnd-v")


def test_the_topic_is_read_only_when_a_force_is_new_to_the_worker() -> None:
    reads: list[int] = []

    async def read(keep: Callable[[bytes], bool]) -> dict[bytes, bytes]:
        reads.append(1)
        return {}

    seeder = Seeder(read, (ForceFindings(bootstrap.build().engine.ruleset), announcer()))

    async def ticks() -> None:
        for held in ({"DUR"}, {"DUR"}, {"DUR", "MPS"}, {"MPS"}, {"DUR", "MPS"}):
            await seeder.held(held)
        seeder.forget()  # a new session
        await seeder.held({"DUR", "MPS"})

    asyncio.run(ticks())
    assert len(reads) == 4  # DUR; MPS; DUR again after it was gone; both in a new session
