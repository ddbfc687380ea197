"""Named outputs (issue 9 item 3): checked before anything is touched, replaced only at the end."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from refmon.cli import main
from refmon.environment import Environment
from tests.cli import run_cli
from tests.factories import recorded

DUTY = "2026-02-02T10:00:00Z"
LATER = "2026-03-01T00:00:00Z"  # the duty's deadline has passed: there is a finding to write
OLD = "old contents\n"
KAFKA = ["--bootstrap-server", "127.0.0.1:9"]  # never reached: the reads are stubbed


def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(recorded(DUTY, categories=["serious_assault"])), "{bad json"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def old_file(path: Path) -> Path:
    path.write_text(OLD, encoding="utf-8")
    return path


def run_args(tmp_path: Path, **outputs: str) -> list[str]:
    args = ["run", "--input", str(events_file(tmp_path)), "-q", "--as-of", LATER]
    for option, path in outputs.items():
        args += [f"--{option.replace('_', '-')}", path]
    return args


def test_an_output_naming_the_input_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    events = events_file(tmp_path)
    before = events.read_bytes()
    result = run_cli(["run", "--input", str(events), "--report", str(events)])
    assert result.status == 2
    assert result.stderr.startswith("refmon: error:")
    assert "--input" in result.stderr
    assert result.stderr.count("\n") == 1
    assert events.read_bytes() == before


@pytest.mark.parametrize("link", ["same", "relative", "symlink", "hardlink"])
def test_two_outputs_naming_the_same_file_are_refused_before_anything_is_written(
    tmp_path: Path, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = old_file(tmp_path / "out.json")
    other = {
        "same": str(report),
        "relative": "./sub/../out.json",
        "symlink": str(tmp_path / "alias.json"),
        "hardlink": str(tmp_path / "hard.json"),
    }[link]
    (tmp_path / "sub").mkdir()
    if link == "symlink":
        os.symlink(report, other)
    if link == "hardlink":
        os.link(report, other)
    monkeypatch.chdir(tmp_path)
    result = run_cli(run_args(tmp_path, report=str(report), findings=other))
    assert result.status == 2
    assert "--report" in result.stderr
    assert "--findings" in result.stderr
    assert report.read_text(encoding="utf-8") == OLD


def test_a_symlinked_input_is_recognised_among_the_outputs(tmp_path: Path) -> None:
    events = events_file(tmp_path)
    before = events.read_bytes()
    os.symlink(events, tmp_path / "alias.jsonl")
    result = run_cli(
        ["run", "--input", str(events), "--dead-letter", str(tmp_path / "alias.jsonl")]
    )
    assert result.status == 2
    assert events.read_bytes() == before


def test_standard_input_redirected_from_an_output_file_is_recognised(tmp_path: Path) -> None:
    events = events_file(tmp_path)
    before = events.read_bytes()
    with events.open("rb") as stdin:
        env = Environment(stdin=stdin, stdout=io.StringIO(), stderr=io.StringIO())
        status = main(["run", "--input", "-", "--findings", str(events)], env)
    assert status == 2
    assert events.read_bytes() == before


def test_a_bad_output_path_is_refused_before_the_earlier_outputs_are_touched(
    tmp_path: Path,
) -> None:
    report, findings = old_file(tmp_path / "r.json"), old_file(tmp_path / "f.jsonl")
    bad = str(tmp_path / "missing" / "d.jsonl")
    result = run_cli(
        run_args(tmp_path, report=str(report), findings=str(findings), dead_letter=bad)
    )
    assert result.status == 2
    assert "--dead-letter" in result.stderr
    assert report.read_text(encoding="utf-8") == OLD
    assert findings.read_text(encoding="utf-8") == OLD


def test_a_directory_as_an_output_is_refused(tmp_path: Path) -> None:
    result = run_cli(run_args(tmp_path, report=str(tmp_path)))
    assert result.status == 2
    assert "directory" in result.stderr


def test_a_crashing_run_leaves_earlier_outputs_untouched_and_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {name: old_file(tmp_path / name) for name in ("r.json", "f.jsonl", "d.jsonl")}
    before = sorted(os.listdir(tmp_path))

    def crash(*_: Any) -> str:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("refmon.commands.run.dumps_finding", crash)
    result = run_cli(
        [
            "run",
            "--input",
            str(events_file(tmp_path)),
            "-q",
            "--as-of",
            LATER,
            "--report",
            str(outputs["r.json"]),
            "--findings",
            str(outputs["f.jsonl"]),
            "--dead-letter",
            str(outputs["d.jsonl"]),
        ]
    )
    assert result.status == 1
    assert all(path.read_text(encoding="utf-8") == OLD for path in outputs.values())
    assert sorted(os.listdir(tmp_path)) == sorted({*before, "events.jsonl"})


def test_a_completed_run_replaces_its_outputs_keeping_their_permissions(tmp_path: Path) -> None:
    report = old_file(tmp_path / "r.json")
    report.chmod(0o640)
    findings = tmp_path / "f.jsonl"
    result = run_cli(run_args(tmp_path, report=str(report), findings=str(findings)))
    assert result.status == 0
    assert json.loads(report.read_text(encoding="utf-8"))["events"]["valid"] == 1
    assert findings.read_text(encoding="utf-8").count("\n") == 1
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(findings.stat().st_mode) == 0o666 & ~umask
    assert sorted(os.listdir(tmp_path)) == ["events.jsonl", "f.jsonl", "r.json"]


def test_an_output_through_a_symlink_replaces_the_file_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    target = old_file(tmp_path / "target.json")
    link = tmp_path / "link.json"
    os.symlink(target, link)
    assert run_cli(run_args(tmp_path, report=str(link))).status == 0
    assert link.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))["events"]["valid"] == 1


def test_device_outputs_are_written_in_place_never_replaced(tmp_path: Path) -> None:
    # Renaming onto /dev/null would replace the device for the whole machine.
    result = run_cli(run_args(tmp_path, report="/dev/null", findings="/dev/null"))
    assert result.status == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_report_refuses_clashing_outputs_before_reading_kafka(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    monkeypatch.setattr(
        "refmon.streams.worker.reader.read_topic", lambda _s, topic: read.append(topic) or {}
    )
    out = old_file(tmp_path / "out.json")
    result = run_cli(["report", *KAFKA, "--report", str(out), "--findings", str(out)])
    assert result.status == 2
    assert read == []
    assert out.read_text(encoding="utf-8") == OLD


def test_report_writes_both_outputs_when_it_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("refmon.streams.worker.reader.read_topic", lambda _s, _t: {})
    report, findings = old_file(tmp_path / "r.json"), old_file(tmp_path / "f.jsonl")
    result = run_cli(["report", *KAFKA, "--report", str(report), "--findings", str(findings)])
    assert result.status == 0
    assert json.loads(report.read_text(encoding="utf-8"))["events"]["valid"] == 0
    assert findings.read_text(encoding="utf-8") == ""


def test_a_crashing_simulation_leaves_the_earlier_output_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = old_file(tmp_path / "events.jsonl")

    def crash(_config: Any, _forces: Any, write: Any, _progress: Any) -> None:
        write('{"half": "a line"}\n')
        raise MemoryError

    monkeypatch.setattr("refmon.commands.simulate.simulate", crash)
    result = run_cli(["simulate", "--days", "1", "--output", str(out), "-q"])
    assert result.status == 1
    assert out.read_text(encoding="utf-8") == OLD
    assert os.listdir(tmp_path) == ["events.jsonl"]


def test_a_simulation_replaces_its_output_when_it_completes(tmp_path: Path) -> None:
    out = old_file(tmp_path / "events.jsonl")
    assert run_cli(["simulate", "--days", "1", "--scale", "0.05", "--output", str(out)]).status == 0
    first = out.read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first)["schema_version"] == 1
    assert os.listdir(tmp_path) == ["events.jsonl"]


def test_publish_refuses_a_dead_letter_file_that_is_its_input_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_broker(**_settings: object) -> None:
        raise AssertionError("connected before checking its outputs")

    monkeypatch.setattr("aiokafka.AIOKafkaProducer", no_broker)
    events = events_file(tmp_path)
    before = events.read_bytes()
    result = run_cli(["publish", *KAFKA, "--input", str(events), "--dead-letter", str(events)])
    assert result.status == 2
    assert "--dead-letter and --input" in result.stderr
    assert events.read_bytes() == before
