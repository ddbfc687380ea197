"""Logging: a level and a format from flags or the environment; routine Kafka noise as INFO."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from aiokafka.errors import GroupAuthorizationFailedError, GroupCoordinatorNotAvailableError

from refmon import logs
from refmon.environment import UsageError
from tests.cli import run_cli


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    logs.configure("WARNING", "text", io.StringIO())  # later tests see no stale handler


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_refmons_routine_lines_show_at_the_default_level_and_the_clients_chatter_does_not(
    stream: io.StringIO,
) -> None:
    logs.configure(*logs.choose(None, None, {}), stream)
    logging.getLogger("refmon.worker").info("assigned 3 input partition(s)")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group")
    logging.getLogger("aiokafka.conn").warning("Unable to connect")
    text = lines(stream)
    assert len(text) == 2
    assert text[0].endswith("INFO refmon.worker: assigned 3 input partition(s)")
    assert text[1].endswith("WARNING aiokafka.conn: Unable to connect")


def test_json_logs_are_one_object_a_line(stream: io.StringIO) -> None:
    logs.configure(*logs.choose(None, None, {"REFMON_LOG_FORMAT": "json"}), stream)
    logging.getLogger("refmon.worker").warning("restored %s[%d]", "t", 1)
    (line,) = lines(stream)
    body = json.loads(line)
    assert (body["level"], body["logger"], body["message"]) == (
        "WARNING",
        "refmon.worker",
        "restored t[1]",
    )
    assert body["time"].endswith("+00:00")


def test_a_group_coordinator_not_yet_available_at_start_is_routine_not_an_error(
    stream: io.StringIO,
) -> None:
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    logs.configure("INFO", "text", stream)
    coordinator.error("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    assert lines(stream) == []
    logs.configure("DEBUG", "text", stream)
    coordinator.error("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    assert " INFO aiokafka.consumer.group_coordinator: Group Coordinator" in stream.getvalue()


def test_a_real_kafka_error_keeps_its_level(stream: io.StringIO) -> None:
    logs.configure("INFO", "text", stream)
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: %s", GroupAuthorizationFailedError()
    )
    assert " ERROR aiokafka.consumer.group_coordinator: " in stream.getvalue()


def test_the_flag_wins_over_the_environment_and_bad_values_are_named() -> None:
    assert logs.choose("debug", None, {"REFMON_LOG_LEVEL": "ERROR"}) == ("DEBUG", "text")
    assert logs.choose(None, None, {"REFMON_LOG_LEVEL": "error"}) == ("ERROR", "text")
    with pytest.raises(UsageError, match="REFMON_LOG_LEVEL 'LOUD'"):
        logs.choose(None, None, {"REFMON_LOG_LEVEL": "loud"})
    with pytest.raises(UsageError, match="REFMON_LOG_FORMAT 'xml'"):
        logs.choose(None, None, {"REFMON_LOG_FORMAT": "xml"})


def test_the_cli_takes_log_flags_and_refuses_a_bad_environment_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli(["--log-level", "debug", "--log-format", "json", "rules", "list"]).status == 0
    assert run_cli(["--log-level", "loud", "rules", "list"]).status == 2
    monkeypatch.setenv("REFMON_LOG_LEVEL", "loud")
    result = run_cli(["rules", "list"])
    assert (result.status, result.stderr.splitlines()) == (
        2,
        ["refmon: error: REFMON_LOG_LEVEL 'LOUD': use one of DEBUG, INFO, WARNING, ERROR"],
    )
