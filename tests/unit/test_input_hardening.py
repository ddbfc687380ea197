"""Input the contract does not allow, or that must not reach a terminal (issue 9 items 5, 7, 8)."""

from __future__ import annotations

import asyncio
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from refmon.schemas import duplicates, event_adapter
from refmon.schemas.export import schema_files
from refmon.schemas.rejections import Rejection
from refmon.streams.runner import lines as lines_module
from refmon.streams.runner.lines import read_lines
from refmon.streams.wire.decode import decode

from tests.cli import run_cli
from tests.factories import allegation, closed, decision, recorded, referred

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


class FakeBatch:
    def __init__(self) -> None:
        self.values: list[bytes] = []

    def append(self, key: bytes, value: bytes, timestamp: None) -> object:
        self.values.append(value)
        return self


class FakeProducer:
    """Stands in for aiokafka's producer: `refmon publish` without a broker."""

    def __init__(self, **_settings: object) -> None:
        self.sent: list[bytes] = []
        PRODUCERS.append(self)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def partitions_for(self, _topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> FakeBatch:
        return FakeBatch()

    async def send_batch(self, batch: FakeBatch, _topic: str, partition: int) -> Any:
        self.sent += batch.values
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


PRODUCERS: list[FakeProducer] = []


def publish(monkeypatch: pytest.MonkeyPatch, data: bytes) -> tuple[int, str, list[bytes]]:
    monkeypatch.setattr("aiokafka.AIOKafkaProducer", FakeProducer)
    PRODUCERS.clear()
    result = run_cli(["publish", "--bootstrap-server", "127.0.0.1:9", "--input", "-"], data)
    return result.status, result.stderr, PRODUCERS[0].sent


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


# Item 5: numbers, the schema version and keys exactly as the contract has them.

GOOD = recorded(DUTY, categories=["other"])


def line_with(path: str, value_json: str, base: dict[str, Any] = GOOD) -> bytes:
    """The event as JSON with the value at `path` replaced by literal JSON text."""
    event = copy.deepcopy(base)
    *parents, last = path.split(".")
    node: Any = event
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = "@@VALUE@@"
    return json.dumps(event).replace('"@@VALUE@@"', value_json).encode()


def decoded(raw: bytes) -> Any:
    return decode(event_adapter(), raw)


YEARS = "payload.allegations.0.offence_max_sentence_years"


@pytest.mark.parametrize(
    "value",
    ["Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 400, "100.5", "1e3", "true", '"7"'],
)
def test_offence_years_that_are_not_a_finite_number_from_0_to_100_are_invalid(
    value: str,
) -> None:
    why = decoded(line_with(YEARS, value))
    assert isinstance(why, Rejection), value
    assert why.code == "invalid_value"
    assert "offence_max_sentence_years" in why.message


@pytest.mark.parametrize("value", ["0", "7", "14.5", "100", "1e2", "null"])
def test_offence_years_from_0_to_100_are_accepted(value: str) -> None:
    assert not isinstance(decoded(line_with(YEARS, value)), Rejection)


def test_an_infinite_sentence_does_not_make_a_case_mandatory() -> None:
    raw = line_with(YEARS, "1e400")
    result = run_cli(["run", "--input", "-", "-q"], raw + b"\n")
    report = json.loads(result.stdout)
    assert report["events"]["invalid"] == 1
    assert report["national"]["due"] == 0


@pytest.mark.parametrize("value", ["true", "1.0", "1e0", "2", '"1"', "1" + "0" * 400, "null"])
def test_a_schema_version_other_than_the_json_integer_1_is_unsupported(value: str) -> None:
    why = decoded(line_with("schema_version", value))
    assert isinstance(why, Rejection), value
    assert why.code == "unsupported_schema_version"
    assert why.message.startswith("schema_version:")


def test_linked_case_ids_are_bounded_at_100() -> None:
    ids = [f"c{i}" for i in range(101)]
    accepted = decoded(line_with("payload.linked_case_ids", json.dumps(ids[:100])))
    assert not isinstance(accepted, Rejection)
    why = decoded(line_with("payload.linked_case_ids", json.dumps(ids)))
    assert isinstance(why, Rejection)
    assert (why.code, why.message.split(":")[0]) == ("invalid_value", "payload.linked_case_ids")


def test_the_json_schema_states_the_bounds() -> None:
    schema = json.loads(schema_files()["case.recorded.schema.json"])
    defs = schema["$defs"]
    years = defs["Allegation"]["properties"]["offence_max_sentence_years"]["anyOf"][0]
    assert (years["minimum"], years["maximum"]) == (0, 100)
    assert defs["CaseFactsPayload"]["properties"]["linked_case_ids"]["maxItems"] == 100
    assert schema["properties"]["schema_version"]["const"] == 1


def duplicated(text: str, key: str, value: str) -> bytes:
    """`text` (a JSON object) with `"key": value` inserted again just after its first `"key":`."""
    at = text.index(f'"{key}":')
    return (text[:at] + f'"{key}": {value}, ' + text[at:]).encode()


GOOD_TEXT = json.dumps(GOOD)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (duplicated(GOOD_TEXT, "force", '"MPS"'), "force"),
        (duplicated(GOOD_TEXT, "schema_version", "1"), "schema_version"),
        (duplicated(GOOD_TEXT, "harm", '"death"'), "payload.harm"),
        (duplicated(GOOD_TEXT, "category", '"serious_assault"'), "payload.allegations.0.category"),
        (duplicated(GOOD_TEXT, "mandatory", "false"), "payload.force_assessment.mandatory"),
        (duplicated(GOOD_TEXT, "payload", '{"a": {"b": [1, "x\\"y"]}}'), "payload"),
        # The same key written with an escape is the same key.
        (
            duplicated(GOOD_TEXT, "force", '"MPS"').replace(b'"force": "M', b'"forc\\u0065": "M'),
            "force",
        ),
        (duplicated(GOOD_TEXT, "harm", '"death"').replace(b'": ', b'"\n: '), "payload.harm"),
        # A duplicate hidden inside a value that the parser throws away.
        (duplicated(GOOD_TEXT, "payload", '{"x": 1, "x": 2}'), "payload"),
    ],
)
def test_a_repeated_key_anywhere_in_the_event_is_rejected_and_named(raw: bytes, path: str) -> None:
    why = decoded(raw)
    assert isinstance(why, Rejection), raw
    assert why.code == "duplicate_key"
    assert why.message.startswith(f"{path}: ")


FULL = recorded(
    DUTY,
    allegations=[
        allegation("other", offence_max_sentence_years=None, aggravated_by_discrimination=False),
        allegation("serious_assault", offence_max_sentence_years=7),
    ],
    linked=["a", "b"],
    chief=True,
    criteria=["serious_assault"],
)


def with_criteria(event: dict[str, Any], criteria: list[str]) -> dict[str, Any]:
    return {**event, "payload": {**event["payload"], "criteria": criteria}}


@pytest.mark.parametrize(
    "raw",
    [
        GOOD_TEXT.encode(),
        json.dumps(GOOD, indent=2).encode(),
        json.dumps(GOOD, separators=(",", ":")).encode(),
        GOOD_TEXT.replace('"case_id": "', '"case_\\u0069d": "').encode(),  # escapes, no repeat
        GOOD_TEXT.replace('": ', '" :\t').encode(),  # whitespace before the colons
        json.dumps(FULL).encode(),
        json.dumps(with_criteria(referred(DUTY), ["serious_assault", "dsi"])).encode(),
        json.dumps(decision(DUTY)).encode(),
        json.dumps(closed(DUTY)).encode(),
    ],
)
def test_events_without_repeated_keys_are_accepted(raw: bytes) -> None:
    assert not isinstance(decoded(raw), Rejection)


def test_every_simulated_event_is_cleared_of_repeated_keys_by_the_quote_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The exact search costs a second parse: valid events must not need it, or the run slows.
    result = run_cli(["simulate", "--days", "20", "--scale", "0.3", "-q"])
    lines = result.stdout.encode().splitlines()
    lines += [json.dumps(e).encode() for e in (FULL, closed(DUTY), decision(DUTY))]
    exact: list[bytes] = []
    monkeypatch.setattr("refmon.streams.wire.decode.repeated_key", lambda raw: exact.append(raw))
    adapter = event_adapter()
    types = set()
    for raw in lines:
        event = decode(adapter, raw)
        assert not isinstance(event, Rejection)
        types.add(event.event_type)
    assert len(types) == 6
    assert exact == []


def test_the_unrolled_count_for_case_facts_agrees_with_the_generic_walk() -> None:
    result = run_cli(["simulate", "--days", "10", "--scale", "0.3", "-q"])
    events = [event_adapter().validate_json(raw) for raw in result.stdout.encode().splitlines()]
    events += [
        event_adapter().validate_json(json.dumps(e))
        for e in (
            FULL,
            recorded(DUTY, kind="dsi_matter", harm="death", allegations=[]),
            {**FULL, "event_type": "case.updated"},
        )
    ]
    facts = [e for e in events if e.event_type in ("case.recorded", "case.updated")]
    assert len(facts) > 100
    for event in facts:
        assert duplicates._facts_strings(event) == duplicates._strings(event)
