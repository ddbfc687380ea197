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
