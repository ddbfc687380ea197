"""A force's own path, with the force's own credentials (which read only its alerts topic):
`refmon findings` folds the topic into a worklist, `refmon alerts` follows it and forwards
each alert to a webhook once; aborted alerts are never shown, another force's never read."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from refmon.streams.engine.resolves import RESOLVES
from refmon.streams.kafka.topics import Topics

from tests.cli import Result, run_cli
from tests.factories import recorded, referred
from tests.kafka.conftest import Deployment
from tests.kafka.test_security import secured  # noqa: F401 - the fixture
from tests.unit.test_webhook import Receiver, receiver  # noqa: F401 - the fixture

DUTY = "2026-02-02T10:00:00Z"  # due before 2026-02-04T00:00:00Z


def as_force(deployment: Deployment, code: str, folder: Path) -> list[str]:
    secret = folder / f"{code}.password"
    secret.write_text(f"force-{code}-secret\n")
    return [
        "--bootstrap-server",
        deployment.broker.sasl_bootstrap,
        "--security-protocol",
        "SASL_SSL",
        "--username",
        f"force-{code}",
        "--password-file",
        str(secret),
        "--ca-file",
        deployment.broker.ca_file,
        "--topic-prefix",
        deployment.prefix,
    ]


def alert(case: str, change: str = "opened", status: str = "open") -> bytes:
    body = {
        "finding_id": f"fnd-{case}",
        "kind": "missed_referral",
        "status": status,
        "force": "DUR",
        "case_id": case,
        "criteria": ["serious_assault"],
        "duty_arose_at": DUTY,
        "deadline": "2026-02-04T00:00:00Z",
        "detected_at": "2026-02-04T00:00:00Z",
        "summary": f"DUR case {case} ...",
        "change": change,
    }
    return json.dumps(body).encode()


def write_alerts(deployment: Deployment, committed: list[bytes], aborted: list[bytes]) -> None:
    """As the workers write them: in transactions (the broker's super user, PLAINTEXT)."""
    topic = Topics(deployment.prefix).alerts("DUR")
    producer = KafkaProducer(
        bootstrap_servers=deployment.broker.bootstrap,
        transactional_id=f"{deployment.prefix}-test",
    )
    try:
        producer.init_transactions()
        for values, commit in ((committed, True), (aborted, False)):
            producer.begin_transaction()
            for value in values:
                producer.send(topic, key=b"k", value=value)
            producer.flush()
            if commit:
                producer.commit_transaction()
            else:
                producer.abort_transaction()
    finally:
        producer.close()


def until(check: Callable[[], Result], done: Callable[[Result], bool], what: str) -> Result:
    deadline = time.monotonic() + 120
    while True:
        result = check()
        if done(result) or time.monotonic() > deadline:
            assert done(result), f"{what}: {result}"
            return result
        time.sleep(1)


def test_a_force_reads_its_worklist_and_follows_its_alerts_to_a_webhook_once(
    secured: Deployment,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    write_alerts(
        secured,
        committed=[alert("c1"), b"not json", alert("c2"), alert("c1", "resolved", "resolved")],
        aborted=[alert("c9")],
    )
    dur = as_force(secured, "DUR", tmp_path)
    worklist = run_cli(["findings", "--force", "DUR", "--status", "all", "--format", "json", *dur])
    assert worklist.status == 0, worklist.stderr
    found = [json.loads(x) for x in worklist.stdout.splitlines()]
    assert [(f["case_id"], f["status"]) for f in found] == [("c1", "resolved"), ("c2", "open")]
    assert found[1]["resolves"] == RESOLVES["missed_referral"]
    assert f"{Topics(secured.prefix).alerts('DUR')} offset 1: not JSON; skipped" in worklist.stderr

    state = tmp_path / "sent"
    follow = ["alerts", "--force", "DUR", "--exit-at-end", "--webhook", receiver.url, *dur]
    first = run_cli([*follow, "--from-beginning", "--webhook-state", str(state)])
    assert first.status == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [x.split("  ")[1:3] for x in lines] == [
        ["opened missed_referral", "DUR/c1"],
        ["opened missed_referral", "DUR/c2"],
        ["resolved missed_referral", "DUR/c1"],
    ]
    assert len(receiver.received) == 3
    # Where the group left off: nothing new. From the beginning again: nothing sent twice.
    again = run_cli([*follow, "--webhook-state", str(state)])
    assert (again.status, again.stdout) == (0, "")
    replay = run_cli([*follow, "--from-beginning", "--webhook-state", str(state)])
    assert "0 alert(s) forwarded, 3 already sent before" in replay.stderr
    assert len(receiver.received) == 3


def test_the_worklist_says_when_the_topic_has_let_go_of_its_oldest_alerts(
    secured: Deployment,  # noqa: F811
    tmp_path: Path,
) -> None:
    write_alerts(secured, committed=[alert("c1"), alert("c2")], aborted=[])
    dur = as_force(secured, "DUR", tmp_path)
    whole = run_cli(["findings", "--force", "DUR", *dur])
    assert (whole.status, len(whole.stdout.splitlines())) == (0, 2)
    assert "no longer holds" not in whole.stderr
    admin = KafkaAdminClient(bootstrap_servers=secured.broker.bootstrap)
    try:  # as retention would
        admin.delete_records({TopicPartition(Topics(secured.prefix).alerts("DUR"), 0): 1})
    finally:
        admin.close()
    trimmed = run_cli(["findings", "--force", "DUR", *dur])
    assert [x.split("  ")[2] for x in trimmed.stdout.splitlines()] == ["DUR/c2"]
    assert "no longer holds its oldest alerts (it keeps 90 days)" in trimmed.stderr


def test_a_force_cannot_read_another_forces_alerts(
    secured: Deployment,  # noqa: F811
    tmp_path: Path,
) -> None:
    mps = run_cli(["findings", "--force", "MPS", *as_force(secured, "DUR", tmp_path)])
    assert mps.status == 2
    assert mps.stderr.startswith("refmon: error: topic ")
    assert mps.stdout == ""


@pytest.mark.slow
def test_the_workers_alerts_say_what_resolves_each_finding_as_the_force_reads_them(
    secured: Deployment,  # noqa: F811
    tmp_path: Path,
) -> None:
    events = [
        recorded(DUTY, categories=["serious_assault"]),
        recorded("2026-02-05T08:00:00Z", case="c2"),  # moves the event clock past c1's deadline
        referred("2026-02-05T09:00:00Z"),
        recorded("2026-02-08T00:00:00Z", case="c3"),  # past the 48 hours to confirm it
    ]
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    secured.start_worker("w1", "--clock", "event")
    secured.publish(stream)
    read = ["findings", "--force", "DUR", "--status", "all", "--format", "json"]
    dur = as_force(secured, "DUR", tmp_path)
    worklist = until(
        lambda: run_cli([*read, *dur]),
        lambda r: len(r.stdout.splitlines()) == 3,
        "the three findings of c1 on DUR's alerts topic",
    )
    found = {(f["kind"], f["status"]): f for f in map(json.loads, worklist.stdout.splitlines())}
    assert set(found) == {
        ("missed_referral", "resolved"),
        ("late_referral", "open"),
        ("unconfirmed_referral", "open"),
    }
    assert all(f["resolves"] == RESOLVES[kind] for (kind, _), f in found.items())
