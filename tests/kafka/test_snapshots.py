"""A worker killed and started again on its folder resumes from its snapshots (issue 22)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.cli import run_cli
from tests.kafka.conftest import Deployment
from tests.kafka.test_cross_force import scrape
from tests.kafka.test_worker import embedded_report

# Long enough that cases retire while the worker runs (a year and a month after them).
SIM = [
    *("simulate", "--start", "2024-01-01", "--days", "800"),
    *("--scale", "0.04", "--seed", "6", "--duplicates", "0.01"),
]
FAST = ("--clock", "event", "--snapshot-seconds", "0.5", "--retire-seconds", "1")


def snapshots(deployment: Deployment, name: str) -> list[Path]:
    return sorted((deployment.folder / name / "snapshots").glob("*.snapshot"))


def restored_counts(log: Path) -> dict[tuple[str, str], float]:
    return {
        (s.labels["loop"], s.labels["source"]): s.value
        for s in scrape(log).get("refmon_partition_restore_seconds_count", [])
    }


def caught_up(
    deployment: Deployment, tmp_path: Path, name: str
) -> tuple[Path, subprocess.Popen[bytes]]:
    """SIM published to a new worker `name`, which has judged all of it."""
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "-q", "--output", str(stream)]).status == 0
    expected = json.loads(embedded_report(stream))["events"]
    worker = deployment.start_worker(name, *FAST)
    deployment.publish(stream)
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=stream)
    return stream, worker


def stop(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=10) == 0


def resumed_tails(deployment: Deployment, log_path: Path) -> list[str]:
    """Once every partition has resumed from its snapshot: the records each read after it."""
    deadline = time.monotonic() + 60
    while (log := log_path.read_text()).count("resumed from its snapshot") < deployment.partitions:
        assert "not used" not in log, log[-3000:]
        assert time.monotonic() < deadline, log[-3000:]
        time.sleep(0.5)
    return re.findall(r"resumed from its snapshot .* the (\d+) record\(s\) after it", log)


def test_a_restart_resumes_each_partition_from_its_snapshot_and_the_report_is_exact(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    assert run_cli([*SIM, "-q", "--output", str(stream)]).status == 0
    lines = stream.read_bytes().splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_bytes(b"".join(lines[: len(lines) * 2 // 3]))
    rest.write_bytes(b"".join(lines[len(lines) * 2 // 3 :]))
    expected = json.loads(embedded_report(first))["events"]

    worker = deployment.start_worker("w1", *FAST)
    deployment.publish(first)
    deployment.wait_for(expected["valid"], expected["duplicate"], stream=first)
    deadline = time.monotonic() + 60
    log = ""
    # Cases retired (so that the tails below hold archive records, not only deliveries),
    # and every partition's snapshot written.
    while "retired" not in log or len(snapshots(deployment, "w1")) < deployment.partitions:
        assert time.monotonic() < deadline, log[-3000:]
        time.sleep(0.5)
        log = (deployment.folder / "w1.log").read_text()

    # Started again, with no snapshot due for an hour, and killed while it judges the rest:
    # its snapshots are the first part's, and the changelog after them has deliveries and
    # the archive records of the cases they retired.
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=10) == 0
    worker = deployment.start_worker("w1", "--clock", "event", "--snapshot-seconds", "3600",
                                     "--retire-seconds", "1")  # fmt: skip
    deployment.publish(rest)
    whole = json.loads(embedded_report(stream))["events"]
    deployment.wait_for((expected["valid"] + whole["valid"]) // 2, stream=stream)
    time.sleep(2)  # a retiring pass or two
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert "resumed from its snapshot" in (deployment.folder / "w1.log").read_text()
    damaged = next(p for p in snapshots(deployment, "w1") if p.name.endswith("-0.snapshot"))
    body = bytearray(damaged.read_bytes())
    body[-100] ^= 0xFF
    damaged.write_bytes(bytes(body))

    deployment.start_worker("w1", *FAST)
    deployment.wait_for(whole["valid"], whole["duplicate"], stream=stream)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
    restarted = (deployment.folder / "w1.log").read_text()  # the last start's own
    resumed = re.findall(r"resumed from its snapshot .* the (\d+) record\(s\) after it, "
                         r"which retired (\d+) case", restarted)  # fmt: skip
    assert len(resumed) == deployment.partitions - 1, restarted[-3000:]
    assert all(int(records) > 0 for records, _ in resumed)
    assert sum(int(retired) for _, retired in resumed) > 0
    assert "contents do not match their hash" in restarted
    assert damaged.with_suffix(".unused").exists()

    # Partition 0 was restored from the whole changelog (its archive records' cases not
    # all read yet). Every event sent again gives each partition writes, and so snapshots:
    # every partition resumes from one now.
    doubled = tmp_path / "doubled.jsonl"
    doubled.write_bytes(stream.read_bytes() * 2)
    deployment.publish(stream)
    twice = json.loads(embedded_report(doubled))["events"]
    deployment.wait_for(twice["valid"], twice["duplicate"], stream=doubled)
    deadline = time.monotonic() + 30
    while not damaged.exists():
        assert time.monotonic() < deadline, "partition 0 wrote no snapshot after its restore"
        time.sleep(0.5)
    os.killpg(deployment.workers[-1].pid, signal.SIGKILL)
    deployment.workers[-1].wait()
    deployment.start_worker("w1", *FAST)
    deadline = time.monotonic() + 60
    log = ""
    while log.count("resumed from its snapshot") < deployment.partitions:
        assert "not used" not in log, log[-3000:]
        assert time.monotonic() < deadline, log[-3000:]
        time.sleep(0.5)
        log = (deployment.folder / "w1.log").read_text()
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(doubled)


def test_a_quiet_worker_restarted_after_retiring_reads_none_of_the_retirement_again(
    deployment: Deployment, tmp_path: Path
) -> None:
    # A snapshot reflects every record its lane landed, a retirement's deletions too,
    # though it names the last delivery: a restart reads only what came after. (It read
    # from the delivery: after five years caught up, over a hundred thousand deletions.)
    stream, worker = caught_up(deployment, tmp_path, "w1")
    log_path = deployment.folder / "w1.log"
    deadline, quiet, seen = time.monotonic() + 60, time.monotonic(), -1
    while time.monotonic() - quiet < 3:  # no retirement nor snapshot for 3 s
        assert time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.5)
        log = log_path.read_text()
        marks = log.count(" retired ") + log.count("snapshot of partition")
        if marks != seen:
            seen, quiet = marks, time.monotonic()
    assert re.search(r"retired \d+ case\(s\) of partition", log), log[-3000:]
    stop(worker)

    deployment.start_worker("w1", *FAST, "--metrics-port", "0")
    assert resumed_tails(deployment, log_path) == ["0"] * deployment.partitions
    # What ops see of it: every partition's restore timed, and from its snapshot. (The
    # intake's restore of the watchdog id index runs apart: it may end a moment later.)
    wanted = {("intake", "changelog"): 1, ("judge", "snapshot"): deployment.partitions}
    deadline = time.monotonic() + 30
    while (restores := restored_counts(log_path)) != wanted:
        assert time.monotonic() < deadline, restores
        time.sleep(0.5)
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)


def test_a_worker_restored_from_the_whole_changelog_snapshots_it_with_nothing_new(
    deployment: Deployment, tmp_path: Path
) -> None:
    # A worker on a new folder (or one whose snapshots were lost) replays the changelog;
    # with no event since, its lanes write nothing. It snapshots what it read all the
    # same: before, every restart of a quiet worker replayed the whole changelog again.
    stream, first = caught_up(deployment, tmp_path, "w1")
    stop(first)

    second = deployment.start_worker("w2", *FAST)
    log_path = deployment.folder / "w2.log"
    deadline = time.monotonic() + 60
    while len(snapshots(deployment, "w2")) < deployment.partitions:
        assert time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.5)
    log = log_path.read_text()
    assert log.count("from its changelog") >= deployment.partitions, log[-3000:]
    assert "resumed from its snapshot" not in log
    stop(second)

    deployment.start_worker("w2", *FAST)
    assert resumed_tails(deployment, log_path) == ["0"] * deployment.partitions
    assert run_cli(["report", *deployment.args()]).stdout == embedded_report(stream)
