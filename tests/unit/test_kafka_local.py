"""deploy/kafka-local/kafka.sh keeps its state private and stops only its own broker.

No broker starts here: a stand-in `mvn` fails any download, so `start` gets no
further than preparing its directory.
"""

from __future__ import annotations

import os
import stat
import subprocess
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
