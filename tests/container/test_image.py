"""The built image: what it holds, and `simulate | run` in it, as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.container.conftest import REFMON_UID, STATE, Podman

SIM = [
    "simulate",
    "--days",
    "90",
    "--scale",
    "0.5",
    "--seed",
    "5",
    "--under-refer",
    "DUR,LINCS",
    "--late",
    "NBR:0.4",
    "--duplicates",
    "0.02",
    "--invalid",
    "0.01",
    "--disorder-hours",
    "6",
    "-q",
]
# What the final stage may add to its base: the virtual environment, the refmon user
# (its account files, with the backups useradd keeps) and that user's home, the state volume.
ACCOUNTS = {
    f"/etc/{name}{suffix}"
    for name in ("passwd", "group", "shadow", "gshadow")
    for suffix in ("", "-")
}
PARENTS = {"/etc", "/opt", "/var", "/var/lib"}


def refmon_on_host(*args: str, stdin: bytes = b"") -> bytes:
    result = subprocess.run(
        [sys.executable, "-m", "refmon.cli", *args], input=stdin, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def test_the_final_stage_adds_only_the_virtual_environment_and_the_refmon_user_to_its_base(
    podman: Podman,
) -> None:
    # `podman diff` lists every path the image adds or changes on top of the Debian base, so
    # no compiler, pip cache, source tree or wheel can hide in it.
    changes = podman("diff", podman.image, podman.built.base).stdout.decode().splitlines()
    paths = {line.split(" ", 1)[1] for line in changes}
    unexpected = {
        path
        for path in paths
        if not path.startswith(("/opt/refmon/", STATE + "/"))
        and path not in ACCOUNTS | PARENTS | {"/opt/refmon", STATE}
    }
    assert unexpected == set()
    assert "/opt/refmon/bin/refmon" in paths
    # Inside it, no pip cache, wheel or source build's egg-info either.
    assert [p for p in paths if "/.cache/" in p or p.endswith((".whl", ".egg-info"))] == []
    # Nor in the base: a build toolchain anywhere on the path.
    found = podman(
        "run",
        "--rm",
        "--read-only",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        podman.image,
        "-c",
        "for tool in gcc cc c++ g++ clang make ld; do command -v $tool; done; true",
    )
    assert found.stdout == b""


def test_the_image_keeps_its_health_check_user_volume_and_entrypoint(podman: Podman) -> None:
    # Built in Docker's format: the OCI format would silently drop the HEALTHCHECK.
    image = podman.inspect(podman.image)
    assert image["Healthcheck"]["Test"] == ["CMD", "refmon", "healthcheck"]
    config = image["Config"]
    assert config["User"] == f"{REFMON_UID}:{REFMON_UID}"
    assert STATE in config["Volumes"]
    assert config["Entrypoint"] == ["refmon"]


def test_simulate_piped_into_run_in_read_only_containers_gives_the_bytes_run_gives_outside(
    podman: Podman, tmp_path: Path
) -> None:
    volume = podman.volume()
    common = ["run", "--rm", "--read-only", "--network", "none"]
    simulate = podman.popen(
        *common, "--name", podman.name("simulate"), podman.image, *SIM, stdout=subprocess.PIPE
    )
    run = podman.popen(
        *common,
        "--name",
        podman.name("run"),
        "--interactive",
        "--volume",
        f"{volume}:{STATE}",
        podman.image,
        "run",
        "--input",
        "-",
        "--findings",
        f"{STATE}/findings.jsonl",
        "--dead-letter",
        f"{STATE}/dead-letter.jsonl",
        "-q",
        stdin=simulate.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert simulate.stdout is not None
    simulate.stdout.close()  # run's, now: run sees the end of input when simulate ends
    report, errors = run.communicate(timeout=600)
    assert simulate.wait(timeout=60) == 0
    assert run.returncode == 0, errors.decode(errors="replace")

    stream = refmon_on_host(*SIM)
    findings, dead = tmp_path / "findings.jsonl", tmp_path / "dead-letter.jsonl"
    expected = refmon_on_host(
        "run",
        "--input",
        "-",
        "--findings",
        str(findings),
        "--dead-letter",
        str(dead),
        "-q",
        stdin=stream,
    )
    state = podman.mountpoint(volume)
    assert report == expected
    assert (state / "findings.jsonl").read_bytes() == findings.read_bytes()
    assert (state / "dead-letter.jsonl").read_bytes() == dead.read_bytes()
    # Written by refmon's own user, into the volume: the rest of the filesystem is read-only.
    assert (state / "findings.jsonl").stat().st_uid == REFMON_UID
    # Not vacuous: the stream has findings and rejected lines.
    assert findings.read_text().count("\n") > 100
    assert dead.read_text().count("\n") > 100
