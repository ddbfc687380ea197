"""The worker's one settings object: every flag has its variable, flags win, secrets stay masked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker.settings import WorkerSettings, env_of, flag_of

from refmon.cli import build_parser
from refmon.commands.worker import NOT_SETTINGS, settings_of
from refmon.kafka_options import KAFKA_FIELDS
from tests.cli import run_cli

BOOTSTRAP = ["--bootstrap-server", "localhost:9092"]
NOT_FLAGS = {"help", "print_config"}
"""Options that ask for something rather than set something."""


def worker_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = commands.choices["worker"]
    assert isinstance(parser, argparse.ArgumentParser)
    return parser


def worker_flags() -> dict[str, str]:
    """Each setting flag of `refmon worker`, by its destination."""
    return {
        a.dest: a.option_strings[-1]
        for a in worker_parser()._actions
        if a.option_strings and a.dest not in NOT_FLAGS
    }


def field_of(dest: str) -> str:
    return f"kafka.{KAFKA_FIELDS[dest]}" if dest in KAFKA_FIELDS else dest


def test_every_worker_flag_sets_a_field_of_the_settings_object_named_like_it() -> None:
    flags = worker_flags()
    assert {"session_timeout", "stall_seconds", "bootstrap_server"} <= flags.keys()
    for dest, flag in flags.items():
        field = field_of(dest)
        owner, name = (
            (KafkaSettings, field.removeprefix("kafka."))
            if field.startswith("kafka.")
            else (WorkerSettings, field)
        )
        assert name in owner.model_fields, f"{flag} sets no setting"
        assert flag_of(field) == flag
    assert not {d for d in NOT_SETTINGS if d in flags and d not in KAFKA_FIELDS}


VALUES = {
    "clock": "event",
    "data_dir": "/tmp/refmon-settings-test",
    "instance_id": "w-7",
    "partitions": "9",
    "metrics_port": "9101",
    "metrics_address": "::1",
    "session_timeout": "21",
    "stall_seconds": "44",
    "snapshot_seconds": "7.5",
    "retire_after_days": "12",
    "retire_seconds": "5",
    "store": "memory",
    "tick_seconds": "2",
    "stats_seconds": "3",
    "test_clock_start": "2025-01-01T00:00:00Z",
    "test_clock_speed": "60",
    "delivery": "at-least-once",
    "topic_prefix": "other",
    "bootstrap_server": "env-host:9092",
    "security_protocol": "PLAINTEXT",
    "username": "someone",
    "password_file": "/dev/null",
    "ca_file": "/dev/null",
}


def value_of(settings: WorkerSettings, field: str) -> object:
    if field.startswith("kafka."):
        return getattr(settings.kafka, field.removeprefix("kafka."))
    return getattr(settings, field)


def test_every_worker_flag_has_an_environment_variable_that_sets_the_same_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flags = worker_flags()
    assert flags.keys() == VALUES.keys(), "a new flag needs a value here"
    for dest in flags:
        monkeypatch.setenv(env_of(field_of(dest)), VALUES[dest])
    from_env = settings_of(worker_parser().parse_args([]))
    for dest, flag in flags.items():
        from_flag = settings_of(worker_parser().parse_args([flag, VALUES[dest]]))
        field = field_of(dest)
        assert value_of(from_env, field) == value_of(from_flag, field), flag


def test_session_timeout_and_stall_seconds_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFMON_SESSION_TIMEOUT", "25")
    monkeypatch.setenv("REFMON_STALL_SECONDS", "7.5")
    settings = settings_of(worker_parser().parse_args(BOOTSTRAP))
    assert (settings.session_timeout, settings.stall_seconds) == (25.0, 7.5)


def test_a_flag_wins_over_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFMON_PARTITIONS", "3")
    monkeypatch.setenv("REFMON_KAFKA_BOOTSTRAP", "env-host:9092")
    settings = settings_of(worker_parser().parse_args(["--partitions", "4", *BOOTSTRAP]))
    assert (settings.partitions, settings.kafka.bootstrap) == (4, "localhost:9092")


def test_print_config_shows_the_effective_settings_with_the_password_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked before a connection\n")
    monkeypatch.setenv("REFMON_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REFMON_KAFKA_USERNAME", "worker")
    monkeypatch.setenv("REFMON_KAFKA_PASSWORD", "not-for-your-eyes")
    monkeypatch.setenv("REFMON_KAFKA_CA_FILE", str(ca))
    monkeypatch.setenv("REFMON_STALL_SECONDS", "12")
    result = run_cli(["worker", "--print-config", *BOOTSTRAP, "--session-timeout", "30"])
    assert result.status == 0, result.stderr
    assert "not-for-your-eyes" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["REFMON_KAFKA_PASSWORD"] == "**********"
    assert shown["REFMON_SESSION_TIMEOUT"] == 30.0
    assert shown["REFMON_STALL_SECONDS"] == 12.0
    assert shown["REFMON_KAFKA_BOOTSTRAP"] == "localhost:9092"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--session-timeout", "2"], {}, "--session-timeout (or REFMON_SESSION_TIMEOUT): "),
        ([], {"REFMON_PARTITIONS": "many"}, "--partitions (or REFMON_PARTITIONS): "),
        ([], {"REFMON_CLOCK": "lunar"}, "--clock (or REFMON_CLOCK): "),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli(["worker", "--print-config", *BOOTSTRAP, *args])
    assert result.status == 2
    assert result.stderr.startswith(f"refmon: error: {message}")
    assert result.stderr.count("\n") == 1


def test_report_accepts_quiet() -> None:
    parsed = build_parser().parse_args(["report", "-q", *BOOTSTRAP])
    assert parsed.quiet is True


def test_the_connection_reads_the_password_from_a_file_and_never_shows_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret, ca = tmp_path / "password", tmp_path / "ca.pem"
    secret.write_text("s3cret\n")
    ca.write_text("pem\n")
    monkeypatch.setenv("REFMON_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REFMON_KAFKA_USERNAME", "worker")
    monkeypatch.setenv("REFMON_KAFKA_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("REFMON_KAFKA_CA_FILE", str(ca))
    settings = KafkaSettings("broker:9093")
    assert settings.kafka_python()["sasl_plain_password"] == "s3cret"
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in json.dumps(settings.model_dump(mode="json"))
