"""Input the contract does not allow, or that must not reach a terminal (issue 9 items 5, 7, 8)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from refmon.streams.runner import lines as lines_module
from refmon.streams.runner.lines import read_lines

from tests.cli import run_cli
from tests.factories import recorded

DUTY = "2026-02-02T10:00:00Z"
BOM = b"\xef\xbb\xbf"


# Item 8: a UTF-8 byte-order mark at the start of the input.


@pytest.mark.parametrize("block", [1, 2, 4, 1 << 20])
def test_a_byte_order_mark_at_the_very_start_is_skipped_whatever_the_block_size(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines_module, "BLOCK_BYTES", block)
    got = list(read_lines(io.BytesIO(BOM + b'{"a":1}\n' + BOM + b'{"b":2}\n')))
    assert [(x.number, x.data) for x in got] == [(1, b'{"a":1}'), (2, BOM + b'{"b":2}')]


@pytest.mark.parametrize("data", [b"", BOM, BOM + b"\n", b"\xef", b"\xef\xbb"])
def test_a_lone_or_partial_byte_order_mark_is_no_crash(data: bytes) -> None:
    got = list(read_lines(io.BytesIO(data)))
    assert all(x.data != b"" for x in got)
    assert len(got) == (1 if data in (b"\xef", b"\xef\xbb") else 0)


def test_run_keeps_the_first_event_of_a_file_that_starts_with_a_byte_order_mark(
    tmp_path: Path,
) -> None:
    events = [recorded(DUTY, case=f"c{i}") for i in range(2)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(BOM + b"\n".join(json.dumps(e).encode() for e in events) + b"\n")
    result = run_cli(["run", "--input", str(path), "-q"])
    assert result.status == 0
    assert json.loads(result.stdout)["events"] == {"valid": 2, "invalid": 0, "duplicate": 0}


class FakeProducer:
    """Stands in for kafka-python's producer: `refmon publish` without a broker."""

    sent: list[tuple[str, bytes]]

    def __init__(self, **_settings: object) -> None:
        self.sent = []
        PRODUCERS.append(self)

    def send(self, topic: str, key: bytes, value: bytes) -> FakeProducer:
        self.sent.append((topic, value))
        return self

    def add_errback(self, _callback: object) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


PRODUCERS: list[FakeProducer] = []


def publish(monkeypatch: pytest.MonkeyPatch, data: bytes) -> tuple[int, str, list[bytes]]:
    monkeypatch.setattr("kafka.KafkaProducer", FakeProducer)
    PRODUCERS.clear()
    result = run_cli(["publish", "--bootstrap-server", "127.0.0.1:9", "--input", "-"], data)
    return result.status, result.stderr, [value for _, value in PRODUCERS[0].sent]


def test_publish_sends_the_first_event_of_input_that_starts_with_a_byte_order_mark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = json.dumps(recorded(DUTY)).encode()
    status, stderr, sent = publish(monkeypatch, BOM + first + b"\n")
    assert (status, sent) == (0, [first]), stderr


# Item 7: what a rejection echoes of the input is escaped and short.

ESCAPES = "\x1b[2J\x1b]0;owned\x07\u202e\x9b"  # clear screen, set title, bidi override, CSI
HUGE_FORCE = "X" * 300_000


def hostile_lines() -> list[bytes]:
    key = {**recorded(DUTY, case="k"), f"{ESCAPES}note": 1}
    nested = recorded(DUTY, case="n")
    nested["payload"]["allegations"][0][f"x{ESCAPES}"] = True
    return [
        json.dumps(key, ensure_ascii=False).encode(),
        json.dumps(nested).encode(),  # \u escapes in the JSON: the key is decoded all the same
        json.dumps(recorded(DUTY, case="f", force=HUGE_FORCE)).encode(),
        json.dumps(recorded(DUTY, case="g", force=f"MPS{ESCAPES}")).encode(),
    ]


def assert_safe(text: str, longest: int = 400) -> None:
    for line in text.splitlines():
        assert line.isprintable(), repr(line[:200])
        assert len(line) <= longest, len(line)


def test_rejections_on_stderr_escape_control_characters_and_cut_long_values() -> None:
    result = run_cli(["run", "--input", "-", "--report", "/dev/null"], b"\n".join(hostile_lines()))
    assert result.status == 0
    rejected = [line for line in result.stderr.splitlines() if "rejected:" in line]
    assert len(rejected) == 4
    assert_safe(result.stderr)
    assert "\\x1b[2J" in rejected[0]  # escaped, not dropped: the integrator can see what it sent
    assert "XXXX" in rejected[2]


def test_dead_letter_messages_are_escaped_and_short_while_the_raw_line_is_kept_whole(
    tmp_path: Path,
) -> None:
    dead = tmp_path / "dead.jsonl"
    lines = hostile_lines()
    result = run_cli(["run", "--input", "-", "--dead-letter", str(dead), "-q"], b"\n".join(lines))
    assert result.status == 0
    letters = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert [d["reason"] for d in letters] == [
        "unknown_field",
        "unknown_field",
        "unknown_force",
        "unknown_force",
    ]
    for letter in letters:
        assert_safe(letter["message"], longest=300)
    assert letters[2]["raw"].encode() == lines[2]


def test_publish_warnings_escape_control_characters_and_cut_long_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, stderr, sent = publish(monkeypatch, b"\n".join(hostile_lines()))
    assert (status, sent) == (1, [])
    assert stderr.count("not sent:") == 4
    assert_safe(stderr)
