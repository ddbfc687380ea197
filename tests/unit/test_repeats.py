"""tests/kafka/repeats.py on hand-made sequences: a message equal to the one before it
with its key is a repeat (exactly once failed); a finding back at an earlier message
after a change is not (the contract allows it: see the module's docstring)."""

from __future__ import annotations

from refmon.streams.engine.model import Finding
from refmon.streams.worker.force_findings import _Announced
from refmon.streams.worker.messages import finding_value

from tests.kafka.repeats import Message, count

FINDINGS = "p.findings"
ALERTS = "p.alerts.DUR"


def overdue() -> Finding:
    return Finding(
        finding_id="fnd-1",
        kind="outlier_overdue",
        status="open",
        force="DUR",
        case_id="compliance-2025-03",
        criteria=(),
        duty_arose_at=None,
        deadline=1_743_638_400_000_000,
        detected_at=1_743_638_400_000_000,
        summary="DUR outlier compliance-2025-03 awaits outlier.checked from the watchdog",
        ruleset="ew-2020.1",
        duty_event_id=None,
        referral_event_id=None,
    )


def announced_through_recounts() -> list[Message]:
    """The announcer as recounts make an overdue outlier vanish and come back."""
    announcer = _Announced()
    sent: list[Message] = []
    for found in ([overdue()], [], [overdue()]):
        for change in announcer.changes(found, {"DUR"}):
            sent.append((FINDINGS, b"fnd-1", finding_value(change.finding, change.change)))
    return sent


def test_a_finding_back_at_an_earlier_message_is_a_return_not_a_repeat() -> None:
    sent = announced_through_recounts()
    assert len(sent) == 3
    assert sent[2] == sent[0]  # opened, resolved, opened: byte-identical, the old count's repeat
    outputs = count(sent, FINDINGS)
    assert outputs.repeats == {"findings": 0, "alerts": 0}
    assert outputs.returns == {"findings": 1, "alerts": 0}
    assert outputs.messages == 3


def test_a_message_equal_to_the_one_before_it_with_its_key_is_a_repeat() -> None:
    a1, a2, b1 = b'{"a":1}', b'{"a":2}', b'{"b":1}'
    sent: list[Message] = [
        (FINDINGS, b"a", a1),
        (FINDINGS, b"b", b1),  # another key between: still the one before it with key a
        (FINDINGS, b"a", a1),
        (ALERTS, b"a", a2),
        (ALERTS, b"a", a2),
    ]
    outputs = count(sent, FINDINGS)
    assert outputs.repeats == {"findings": 1, "alerts": 1}
    assert outputs.returns == {"findings": 0, "alerts": 0}


def test_a_replayed_batch_repeats() -> None:
    batch: list[Message] = [(FINDINGS, b"a", b"1"), (FINDINGS, b"b", b"1"), (ALERTS, b"a", b"1")]
    assert count([*batch, *batch], FINDINGS).repeats == {"findings": 2, "alerts": 1}


def test_the_same_value_under_another_key_or_topic_is_no_repeat() -> None:
    sent: list[Message] = [
        (FINDINGS, b"a", b"1"),
        (FINDINGS, b"b", b"1"),
        (ALERTS, b"a", b"1"),
        (FINDINGS, b"a", b"2"),
    ]
    outputs = count(sent, FINDINGS)
    assert outputs.repeats == {"findings": 0, "alerts": 0}
    assert outputs.returns == {"findings": 0, "alerts": 0}
