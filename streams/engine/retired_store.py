"""Retired cases an engine holds, some of them not yet read (a restore's archive records).

A worker restoring five years of history holds about a hundred thousand retired
cases and needs almost none of them to judge the next event: only their ids (is
this case retired? is this event a repeat?) and their share of the counts. An
archive record therefore comes in two parts (streams/kafka/state.py): a summary
read at once (`Archived`) and the cases themselves, read when something first
asks for one of them (a link to a retired case, the review points, the
findings list), or in small slices while the worker is idle (`Engine.settle_some`).
What a figure reads is the same either way; only when the cost is paid differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from refmon.streams.engine.retirement import Retired
from refmon.streams.engine.vocabulary import FindingKind


class Archived:
    """One archive record's summary, and how to read its cases when they are needed.

    `read` is the adapter's decoder (no I/O: the record's bytes are already held).
    """

    __slots__ = (
        "case_ids",
        "duplicate",
        "event_ids",
        "first_at",
        "open",
        "read",
        "settled",
        "valid",
    )

    def __init__(
        self,
        case_ids: Mapping[str, Sequence[str]],
        event_ids: Mapping[str, Sequence[str]],
        open_counts: Iterable[tuple[str, FindingKind, int]],
        valid: int,
        duplicate: int,
        first_at: int | None,
        read: Callable[[], Iterable[Retired]],
    ) -> None:
        self.case_ids = case_ids
        """Force -> its cases in this record."""
        self.event_ids = event_ids
        """Source scope -> the ids of these cases' events (a late repeat is a duplicate)."""
        self.open = tuple(open_counts)
        """(force, kind, how many) of the open findings these cases hold."""
        self.valid = valid
        self.duplicate = duplicate
        self.first_at = first_at
        self.read = read
        self.settled = False


class RetiredCases(Mapping[str, Retired]):
    """One force's retired cases: those read, and those waiting in an unread record.

    Asking for a waiting case reads its whole record (`settle`, the engine's: a
    record holds several forces' cases); iterating reads every waiting record first.
    """

    __slots__ = ("_done", "_settle", "_waiting")

    def __init__(self, settle: Callable[[Archived], None]) -> None:
        self._done: dict[str, Retired] = {}
        self._waiting: dict[str, Archived] = {}
        self._settle = settle

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._done or case_id in self._waiting

    def __getitem__(self, case_id: str) -> Retired:
        found = self._done.get(case_id)
        if found is None:
            waiting = self._waiting.get(case_id)
            if waiting is None:
                raise KeyError(case_id)
            self._settle(waiting)
            found = self._done[case_id]
        return found

    def __iter__(self) -> Iterator[str]:
        self._settle_all()
        return iter(self._done)

    def __len__(self) -> int:
        return len(self._done) + len(self._waiting)

    @property
    def settle(self) -> Callable[[Archived], None]:
        return self._settle

    def read_cases(self) -> Mapping[str, Retired]:
        """The cases read (not a copy: a snapshot's writer reads it, changes nothing)."""
        return self._done

    def waiting(self) -> Mapping[str, Archived]:
        """Case id -> the unread record that holds it."""
        return self._waiting

    def unread(self) -> list[Archived]:
        """The records not read yet, each once."""
        return list({id(a): a for a in self._waiting.values() if not a.settled}.values())

    def keep(self, retired: Retired) -> None:
        self._done[retired.case_id] = retired
        self._waiting.pop(retired.case_id, None)

    def defer(self, case_ids: Iterable[str], archived: Archived) -> None:
        self._waiting.update(dict.fromkeys(case_ids, archived))

    def defer_each(self, waiting: Mapping[str, Archived]) -> None:
        self._waiting.update(waiting)

    def _settle_all(self) -> None:
        while self._waiting:
            archived = next(iter(self._waiting.values()))
            self._settle(archived)
            if next(iter(self._waiting.values()), None) is archived:
                # Read, yet its cases still wait: it did not hold what it listed.
                raise LookupError("a record of retired cases lacks cases it lists")
