"""A by-force partition's judge kept on the worker's disk: a restart reads the snapshot and only
the changelog records written after it, not the whole changelog (issue 22).

One file per changelog partition in the worker's `--data-dir`:
`snapshots/<changelog topic>-<partition>.snapshot`. A first line says what the
snapshot is (JSON): its format, a fingerprint of the code and the configuration
that made it, the changelog record it reflects last (offset and a hash of its
key), and a hash of the rest. The rest is the judge's state (judge.JudgeState),
pickled. A snapshot that does not match the running code and settings, fails
its hash, or cannot be read is set aside and the partition restored from the
whole changelog: a snapshot only ever saves time.

The body is read trusting nothing in it (snapshot_pickle.py). The folder is the
worker's own (0700): whoever can write it can still change what the worker
holds, not what it runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from functools import cache
from pathlib import Path
from typing import NamedTuple

from refmon.streams.engine import Ruleset
from refmon.streams.worker.judge import JudgeState, PartitionJudge
from refmon.streams.worker.snapshot_pickle import loads

FORMAT = 2
"""2: retired cases pickled apart (snapshot_pickle.PickledCases), and `through`."""

log = logging.getLogger("refmon.worker")


class Snapshot(NamedTuple):
    offset: int
    """A changelog record the state reflects that compaction keeps while the state holds it
    (checkpoint.Landed): a reader checks the changelog still has it there."""
    key_hash: str
    """That record's key, hashed (`key_hash`)."""
    through: int
    """The last changelog record the state reflects (and every one before it): a restore
    reads the records after it."""
    state: JudgeState


def key_hash(key: bytes | None) -> str:
    return hashlib.sha256(key or b"").hexdigest()[:32]


def folder_of(data_dir: Path) -> Path:
    return data_dir / "snapshots"


def path_of(folder: Path, topic: str, partition: int) -> Path:
    return folder / f"{topic}-{partition}.snapshot"


def fingerprint(judge: PartitionJudge, topic: str) -> str:
    """What a snapshot is valid for: this release's code, the engine's configuration (ruleset,
    holidays, peer groups, forces) and the partition's identity."""
    engine = judge.engine
    described = repr(
        (
            FORMAT,
            _code(),
            _ruleset(engine.ruleset),
            sorted(engine.holidays),
            engine.peer_groups,
            engine.forces,
            sorted(judge.sources),
            topic,
            judge.partition,
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()


@cache
def _code() -> str:
    """A hash of refmon's own source: a snapshot pickles its classes as they are now."""
    import refmon.streams

    import refmon

    digest = hashlib.sha256()
    roots = {Path(refmon.__file__).parent, Path(refmon.streams.__file__).parent}
    for path in sorted({p for root in roots for p in root.rglob("*.py")}):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _ruleset(ruleset: Ruleset) -> tuple[object, ...]:
    criteria = tuple(
        (c.id, c.bit, c.title, c.legal_basis, c.conditions, c.predicate is None)
        for c in ruleset.criteria
    )
    zone = str(ruleset.zone)
    timing = (ruleset.deadline_days_after, ruleset.unconfirmed_after_us)
    return (ruleset.id, ruleset.title, zone, timing, criteria)


def save(
    path: Path, print_: str, offset: int, key: bytes | None, through: int, body: bytes
) -> None:
    """Write a snapshot whole or not at all (a new file, synced, renamed over the old)."""
    head = {
        "format": FORMAT,
        "fingerprint": print_,
        "offset": offset,
        "key": key_hash(key),
        "through": through,
        "body": hashlib.sha256(body).hexdigest(),
        "written_at": time.time(),
    }
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    with part.open("wb") as file:
        file.write(json.dumps(head).encode() + b"\n")
        file.write(body)
        file.flush()
        os.fsync(file.fileno())
    part.replace(path)


def load(path: Path, print_: str, ruleset: Ruleset) -> Snapshot | None:
    """The snapshot at `path` if it is one for this code, configuration and partition; None
    (and the file set aside, saying why) if not. No file: None."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        log.warning("snapshot %s unreadable (%s): restoring from the changelog", path, err)
        return None
    why, snapshot = _parse(data, print_, ruleset)
    if snapshot is None:
        log.warning("snapshot %s not used (%s): restoring from the changelog", path, why)
        set_aside(path)
    return snapshot


def _parse(data: bytes, print_: str, ruleset: Ruleset) -> tuple[str, Snapshot | None]:
    first, _, body = data.partition(b"\n")
    try:
        head = json.loads(first)
        if head.get("format") != FORMAT or head.get("fingerprint") != print_:
            return "made by other code or settings", None
        if hashlib.sha256(body).hexdigest() != head.get("body"):
            return "its contents do not match their hash", None
        offset, hashed, through = int(head["offset"]), str(head["key"]), int(head["through"])
        if through < offset:
            return "it ends before the record it names", None
        state = loads(body, ruleset)
    except Exception as err:  # a damaged file can fail anywhere in unpickling
        return f"{type(err).__name__}: {err}", None
    if not isinstance(state, JudgeState):
        return "it does not hold a judge", None
    return "", Snapshot(offset, hashed, through, state)


def set_aside(path: Path) -> None:
    """Keep a snapshot not used out of the way (for a look), replacing one set aside before."""
    with contextlib.suppress(OSError):
        path.replace(path.with_suffix(".unused"))
