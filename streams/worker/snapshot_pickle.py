"""A judge's state pickled for a snapshot, and read back trusting nothing in it
(streams/worker/snapshot.py writes and checks the file around it).

Pickle runs code named in what it reads, so the reader accepts only the classes
a judge's state is built of (`MODULES`, `ALLOWED`) and a few helpers of its own
(the running ruleset, the engine's few bound methods, a time zone, retired cases
pickled apart); never `getattr` or a module's other attributes, through which a
pickle could reach anything.

Retired cases are pickled apart, `CASES_APART` to a part, and a resumed engine
reads a part only when it first needs one of its cases, or between batches, as a
restore leaves an archive record's (streams/engine/retired_store.py): a resume
then costs the live cases and the ids of the retired ones, not all history. A
part is checked when it is read, not before.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import io
import pickle
import threading
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from types import MethodType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from refmon.streams.engine import Ruleset
from refmon.streams.engine.oversight import OutlierBook
from refmon.streams.engine.retired_store import Archived, RetiredCases
from refmon.streams.engine.retirement import Retired
from refmon.streams.worker.judge import JudgeState

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
CASES_APART = 1_000
"""Retired cases pickled apart, to a part (`PickledCases`)."""


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


class Parts:
    """A partition's parts of retired cases as its last snapshot pickled them, to be written
    again as they are: a retired case never changes, and cases retire at the end of their
    force's store, so all but a force's last part stay as they were (a part is pickled
    again if any case in it is not the very one it held)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], _Part] = {}
        self._used: dict[tuple[str, str], _Part] = {}

    def pickled(self, done: Mapping[str, Retired], table: Mapping[type, Any]) -> Iterator[Any]:
        """The cases read, `CASES_APART` to a part: (force, case ids, PickledCases)."""
        cases = iter(done.values())
        while part := list(islice(cases, CASES_APART)):
            key = (part[0].force, part[0].case_id)
            kept = self._kept.get(key)
            if kept is None or len(kept.cases) != len(part) or any(map(_other, kept.cases, part)):
                ids = tuple(c.case_id for c in part)
                kept = _Part(part, ids, PickledCases(_pickle(part, table)))
            self._used[key] = kept
            yield (key[0], kept.case_ids, kept.pickled)

    def turn(self) -> None:
        """A snapshot written: keep the parts it used, and only those."""
        self._kept, self._used = self._used, {}


class _Part(NamedTuple):
    cases: list[Retired]
    case_ids: tuple[str, ...]
    pickled: PickledCases


def _other(a: object, b: object) -> bool:
    return a is not b


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


def _table(parts: Parts) -> dict[type, Any]:
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table[Ruleset] = lambda _ruleset: (_the_ruleset, ())
    table[MethodType] = lambda method: (_bound, (method.__self__, method.__func__.__name__))
    table[ZoneInfo] = lambda zone: (_zone, (zone.key,))
    table[RetiredCases] = lambda store: (
        _retired_cases,
        (store.settle, dict(store.waiting()), list(parts.pickled(store.read_cases(), table))),
    )
    table[OutlierBook] = _book_without_retired
    return table


def _pickle(value: object, table: Mapping[type, Any]) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = table
    pickler.dump(value)
    return buffer.getvalue()


def dumps(state: JudgeState, parts: Parts | None = None) -> bytes:
    """The state pickled (synchronously: it must not change meanwhile); `parts`, the
    partition's from its last snapshot, saves pickling its retired cases again."""
    parts = parts or Parts()
    body = _pickle(state, _table(parts))
    parts.turn()
    return body


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


_pausing = threading.Lock()
_paused = 0
_was_enabled = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cycle collector off while any load runs: restores load in threads, several at
    once, and the last to finish puts it back as the first found it."""
    global _paused, _was_enabled
    with _pausing:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pausing:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def loads(body: bytes, ruleset: Ruleset) -> object:
    """A snapshot's body unpickled, with the running ruleset where it names one."""
    # Hundreds of thousands of objects that live as long as the partition: the cycle
    # collector's passes over them while they are built would cost a third again.
    with _collector_paused():
        state = _Reader(body, ruleset).load()
    if isinstance(state, JudgeState):
        # The engine fingerprints events with hash(), which differs between processes
        # (the string seed; hash(None) on Python 3.11): here, ids are all it can trust.
        state.engine.resumed()
    return state
