"""deploy/kafka-local/kafka.sh keeps its state private and stops only its own broker.

No broker starts here: a stand-in `mvn` fails any download, so `start` gets no
further than preparing its directory.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

KAFKA_SH = Path(__file__).resolve().parents[2] / "deploy" / "kafka-local" / "kafka.sh"


def kafka_sh(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFMON_KAFKA", "XDG_"))}
    bin_dir = home / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake_mvn = bin_dir / "mvn"
    fake_mvn.write_text("#!/bin/sh\necho 'no downloads in unit tests' >&2\nexit 1\n")
    fake_mvn.chmod(0o755)
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}:{env['PATH']}",
        REFMON_KAFKA_CACHE=str(home / "cache"),
    )
    return subprocess.run(
        ["bash", str(KAFKA_SH), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_default_state_directory_is_the_users_own_not_a_shared_temp_path(
    tmp_path: Path,
) -> None:
    result = kafka_sh("status", home=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == f"stopped ({tmp_path}/.local/state/refmon/kafka)"


def test_start_makes_an_existing_state_directory_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    kafka_sh("start", "--sasl", "--dir", str(state), home=tmp_path)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_start_refuses_a_state_directory_that_is_a_symbolic_link(tmp_path: Path) -> None:
    """A link planted by someone else would send the CA's key wherever it points."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "state"
    link.symlink_to(elsewhere)
    result = kafka_sh("start", "--sasl", "--dir", str(link), home=tmp_path)
    assert result.returncode == 2
    assert "symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("command", ["stop", "status"])
def test_a_stale_pid_file_never_reaches_another_process(tmp_path: Path, command: str) -> None:
    """After the broker died its pid may belong to anything: stop must not kill it."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        (state / "kafka.pid").write_text(f"{bystander.pid}\n")
        result = kafka_sh(command, "--dir", str(state), home=tmp_path)
        assert bystander.poll() is None, "kafka.sh killed a process it did not start"
        if command == "status":
            assert result.returncode == 1
            assert result.stdout.startswith("stopped")
        else:
            assert result.returncode == 0
            assert not (state / "kafka.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


def quorum_state(node: Path, epoch: int, leader: int) -> None:
    """What a KRaft node persists of the latest election it knows of."""
    state = node / "data" / "__cluster_metadata-0" / "quorum-state"
    state.parent.mkdir(parents=True, exist_ok=True)
    written = state.with_suffix(".tmp")
    written.write_text(
        f'{{"clusterId":"","leaderId":{leader},"leaderEpoch":{epoch},"votedId":-1,'
        f'"appliedOffset":0,"currentVoters":[],"data_version":0}}'
    )
    written.replace(state)  # as Kafka does: a reader never sees half a file


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[Path]:
    """A cluster's folder whose nodes are stand-ins kafka.sh takes for its brokers."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "cluster").write_text("nodes=3\nport=19092\nsasl=0\n")
    stand_ins = []
    for n in (1, 2, 3):
        node = state / f"node-{n}"
        node.mkdir()
        stand_in = subprocess.Popen(
            ["bash", "-c", f'exec -a "java kafka.Kafka {node}/server.properties" sleep 300']
        )
        stand_ins.append(stand_in)
        (node / "kafka.pid").write_text(f"{stand_in.pid}\n")
        quorum_state(node, epoch=4, leader=3)
    try:
        yield state
    finally:
        for stand_in in stand_ins:
            stand_in.kill()
            stand_in.wait()


def test_controller_waits_for_an_election_under_way_to_end(
    three_nodes: Path, tmp_path: Path
) -> None:
    """A node resumed a moment ago starts an election: its epoch has no leader yet.
    Reading the files once said "no controller elected" (a CI run failed on it)."""
    quorum_state(three_nodes / "node-2", epoch=5, leader=-1)
    asking = subprocess.Popen(
        ["bash", str(KAFKA_SH), "controller", "--dir", str(three_nodes), "--wait", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        assert asking.poll() is None, "kafka.sh did not wait for the election"
        quorum_state(three_nodes / "node-1", epoch=5, leader=1)
        out, err = asking.communicate(timeout=30)
    finally:
        asking.kill()
    assert (asking.returncode, out.strip()) == (0, "1"), err


def test_controller_does_not_name_a_leader_that_is_not_running(three_nodes: Path) -> None:
    """Killed, the leader still has the highest epoch until the others elect anew."""
    (three_nodes / "node-3" / "kafka.pid").unlink()
    result = kafka_sh("controller", "--dir", str(three_nodes), "--wait", "1", home=three_nodes)
    assert result.returncode == 1
    assert "no running controller elected within 1 s" in result.stderr


def test_controller_names_the_leader_of_the_highest_epoch(three_nodes: Path) -> None:
    quorum_state(three_nodes / "node-1", epoch=3, leader=1)  # an older election
    result = kafka_sh("controller", "--dir", str(three_nodes), home=three_nodes)
    assert (result.returncode, result.stdout.strip()) == (0, "3"), result.stderr


def test_controller_ignores_what_a_stopped_node_last_knew(three_nodes: Path) -> None:
    """Killed while a candidate, a node's file keeps a newer epoch with no leader."""
    quorum_state(three_nodes / "node-2", epoch=9, leader=-1)
    (three_nodes / "node-2" / "kafka.pid").unlink()
    result = kafka_sh("controller", "--dir", str(three_nodes), "--wait", "5", home=three_nodes)
    assert (result.returncode, result.stdout.strip()) == (0, "3"), result.stderr


def test_controller_takes_the_voter_that_heard_the_winner(three_nodes: Path) -> None:
    quorum_state(three_nodes / "node-1", epoch=5, leader=-1)  # voted, not told yet
    quorum_state(three_nodes / "node-2", epoch=5, leader=2)
    result = kafka_sh("controller", "--dir", str(three_nodes), "--wait", "0", home=three_nodes)
    assert (result.returncode, result.stdout.strip()) == (0, "2"), result.stderr
