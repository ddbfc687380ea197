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

Pickle runs code named in the file when it reads it, so the reader accepts only
the classes a judge's state is built of (`MODULES`, `ALLOWED`) and three helpers
of its own (the running ruleset, the engine's few bound methods, a time zone);
never `getattr` or a module's other attributes, through which a pickle could
reach anything. The folder is the worker's own (0700): whoever can write it can
still change what the worker holds, not what it runs.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import hashlib
import io
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from itertools import islice
from pathlib import Path
from types import MethodType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from refmon.streams.engine import Ruleset
from refmon.streams.engine.oversight import OutlierBook
from refmon.streams.engine.retired_store import Archived, RetiredCases
from refmon.streams.engine.retirement import Retired
from refmon.streams.worker.judge import JudgeState, PartitionJudge

FORMAT = 2
CASES_APART = 1_000
"""Retired cases pickled apart, to a part (`PickledCases`)."""

log = logging.getLogger("refmon.worker")

MODULES = (
    "refmon.streams.bank_holidays",
    "refmon.streams.kafka.archive",
    "refmon.streams.kafka.folded",
    "refmon.streams.wire.delivery",
    "refmon.streams.worker.applied",
    "refmon.streams.worker.judge",
    "refmon.streams.worker.open_archive",
)
"""Besides the engine's own (`refmon.streams.engine.*`): modules whose classes a snapshot may
name. Only classes, defined there: a pickle that may name a module's other attributes, or
call `getattr`, can reach anything."""
ALLOWED = {("collections", "Counter"), ("collections", "defaultdict")}
BOUND = frozenset({"_settle", "after", "settle_all", "retired"})
"""The methods a judge's state holds bound: the engine's callbacks to itself, and a reader of
retired cases not read yet (`ArchiveRecord.retired` after a restore, `PickledCases.retired`
after a resume)."""
HELPERS = frozenset({"_bound", "_zone", "_retired_cases", "PickledCases"})


class Snapshot(NamedTuple):
    offset: int
    """The last changelog record the state reflects (and every one before it)."""
    key_hash: str
    """That record's key, hashed (`key_hash`): a reader checks the changelog still has it."""
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


def _the_ruleset() -> Ruleset:
    """Where a snapshot names the engine's ruleset: the reader puts the running one there
    (a ruleset holds compiled conditions, which pickle cannot write)."""
    raise RuntimeError("only a snapshot reader calls this")


def _bound(owner: object, name: str) -> object:
    """A method bound to an object of the state: one of `BOUND` only."""
    if name not in BOUND:
        raise pickle.UnpicklingError(f"a snapshot may not bind {name!r}")
    return getattr(owner, name)


def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


class PickledCases:
    """Retired cases a snapshot holds pickled apart, read when the engine first needs them
    (streams/engine/retired_store.py), as a restore leaves an archive record's: a resume
    then reads their ids only, and five years resume about as fast as one."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __reduce__(self) -> tuple[Any, ...]:
        return (PickledCases, (self.body,))

    def retired(self) -> list[Retired]:
        cases = _Reader(self.body, None).load()
        if not isinstance(cases, list) or not all(isinstance(c, Retired) for c in cases):
            raise pickle.UnpicklingError("a snapshot's retired cases are not retired cases")
        return cases


def _retired_cases(
    settle: Callable[[Archived], None],
    waiting: Mapping[str, Archived],
    parts: list[tuple[str, tuple[str, ...], PickledCases]],
) -> RetiredCases:
    """A force's retired cases read back: every one waiting, in a record or a part."""
    store = RetiredCases(settle)
    store.defer_each(waiting)
    for force, case_ids, cases in parts:
        store.defer(case_ids, Archived({force: case_ids}, {}, (), 0, 0, None, cases.retired))
    return store


def _parts(done: Mapping[str, Retired], table: Mapping[type, Any]) -> Iterator[Any]:
    """The cases read, `CASES_APART` to a part, pickled apart."""
    cases = iter(done.values())
    while part := list(islice(cases, CASES_APART)):
        body = _pickle(part, table)
        yield (part[0].force, tuple(c.case_id for c in part), PickledCases(body))


def _book_without_retired(book: OutlierBook) -> tuple[Any, ...]:
    """The book less the review times of the retired cases read (`_parts` holds them, and
    reading a part gives them back to the book: `Engine._settle`)."""
    # A class with __slots__ pickles (copyreg.__newobj__, (cls,), (None, slots), ...).
    reduced = book.__reduce_ex__(5)
    assert isinstance(reduced, tuple)
    new, args, (_, slots), *rest = reduced
    read = {force: store.read_cases() for force, store in slots["_retired"].items()}
    slots = dict(slots)
    slots["_review"] = {
        force: {c: r for c, r in review.items() if c not in read[force]}
        for force, review in slots["_review"].items()
    }
    return (new, args, (None, slots), *rest)


def _table() -> dict[type, Any]:
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table[Ruleset] = lambda _ruleset: (_the_ruleset, ())
    table[MethodType] = lambda method: (_bound, (method.__self__, method.__func__.__name__))
    table[ZoneInfo] = lambda zone: (_zone, (zone.key,))
    table[RetiredCases] = lambda store: (
        _retired_cases,
        (store.settle, dict(store.waiting()), list(_parts(store.read_cases(), table))),
    )
    table[OutlierBook] = _book_without_retired
    return table


def _pickle(value: object, table: Mapping[type, Any]) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = table
    pickler.dump(value)
    return buffer.getvalue()


def dumps(state: JudgeState) -> bytes:
    """The state pickled (synchronously: it must not change meanwhile)."""
    return _pickle(state, _table())


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, ruleset: Ruleset | None) -> None:
        super().__init__(io.BytesIO(data))
        self._ruleset = ruleset

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__:
            if name == "_the_ruleset" and self._ruleset is not None:
                ruleset = self._ruleset
                return lambda: ruleset
            if name in HELPERS:
                return super().find_class(module, name)
        elif (module, name) in ALLOWED:
            return super().find_class(module, name)
        elif module in MODULES or module.startswith("refmon.streams.engine."):
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"a snapshot may not name {module}.{name}")


def save(path: Path, print_: str, offset: int, key: bytes | None, body: bytes) -> None:
    """Write a snapshot whole or not at all (a new file, synced, renamed over the old)."""
    head = {
        "format": FORMAT,
        "fingerprint": print_,
        "offset": offset,
        "key": key_hash(key),
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
        offset, hashed = int(head["offset"]), str(head["key"])
        state = loads(body, ruleset)
    except Exception as err:  # a damaged file can fail anywhere in unpickling
        return f"{type(err).__name__}: {err}", None
    if not isinstance(state, JudgeState):
        return "it does not hold a judge", None
    return "", Snapshot(offset, hashed, state)


def loads(body: bytes, ruleset: Ruleset) -> object:
    """A snapshot's body unpickled, with the running ruleset where it names one."""
    # Hundreds of thousands of objects that live as long as the partition: the cycle
    # collector's passes over them while they are built would cost a third again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        state = _Reader(body, ruleset).load()
    finally:
        if enabled:
            gc.enable()
    if isinstance(state, JudgeState):
        # The engine fingerprints events with hash(), which differs between processes
        # (the string seed; hash(None) on Python 3.11): here, ids are all it can trust.
        state.engine.resumed()
    return state


def set_aside(path: Path) -> None:
    """Keep a snapshot not used out of the way (for a look), replacing one set aside before."""
    with contextlib.suppress(OSError):
        path.replace(path.with_suffix(".unused"))
