"""The JSON Lines reader: line numbers, blank lines, CRLF, and lines over the limit."""

from __future__ import annotations

import io

import pytest
from refmon.streams.runner import lines as lines_module
from refmon.streams.runner.lines import Line, read_lines


def read(data: bytes, max_bytes: int = 10) -> list[Line]:
    return list(read_lines(io.BytesIO(data), max_bytes))


def test_numbers_count_every_line_and_blank_lines_are_skipped() -> None:
    got = read(b'{"a":1}\n\n  \n{"b":2}\r\n{"c":3}')
    assert [(x.number, x.data) for x in got] == [(1, b'{"a":1}'), (4, b'{"b":2}'), (5, b'{"c":3}')]


def test_a_line_over_the_limit_is_reported_with_its_size_but_not_kept() -> None:
    got = read(b"short\n" + b"x" * 25 + b"\nok\n")
    assert [(x.number, x.data, x.size) for x in got] == [
        (1, b"short", 5),
        (2, None, 25),
        (3, b"ok", 2),
    ]


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_lines_spanning_blocks_are_whole_whatever_the_block_size(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines_module, "BLOCK_BYTES", block)
    data = b"one\n" + b"y" * 30 + b"\ntwo\nthree-is-long-too\nend"
    got = read(data)
    assert [(x.number, x.data, x.size) for x in got] == [
        (1, b"one", 3),
        (2, None, 30),
        (3, b"two", 3),
        (4, None, 17),
        (5, b"end", 3),
    ]


def test_an_over_long_last_line_without_newline() -> None:
    got = read(b"a\n" + b"z" * 40)
    assert [(x.number, x.data, x.size) for x in got] == [(1, b"a", 1), (2, None, 40)]
