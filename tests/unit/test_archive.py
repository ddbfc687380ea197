"""Retired cases archived many to a record: the changelog stays proportional to live cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.kafka.state import (
    ARCHIVE_PREFIX,
    RETIRED_SUFFIX,
    Folded,
    decode_archive,
    encode_case,
    encode_folded,
    held,
    replay,
)
from refmon.streams.wire.delivery import Source
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.messages import Counts, Outbound

from refmon import bootstrap
from tests.factories import closed, recorded
from tests.unit.test_worker_core import SERIOUS, TOPICS, deliveries, judge_for

MARGIN = 395 * MICROS_PER_DAY
Changelog = dict[bytes, bytes | None]


def old_cases(n: int) -> list[tuple[dict[str, Any], str, int]]:
    stream = []
    for i in range(n):
        stream.append((recorded("2024-01-02T10:00:00Z", case=f"old{i}", **SERIOUS), "DUR", 2 * i))
        stream.append((closed("2024-01-20T10:00:00Z", case=f"old{i}"), "DUR", 2 * i + 1))
    return stream


def live_judge(stream: list[tuple[dict[str, Any], str, int]]) -> tuple[PartitionJudge, Changelog]:
    live = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), frozenset({"DUR"}))
    changelog: Changelog = {}
    for delivery in deliveries(*stream):
        write(changelog, live.judge([delivery]).state)
    return live, changelog


def write(changelog: Changelog, records: list[Outbound]) -> None:
    for record in records:
        changelog[record.key or b""] = record.value


def outputs(judge: PartitionJudge) -> tuple[Any, ...]:
    engine = judge.engine
    return list(engine.findings()), engine.valid, engine.duplicate, engine.open_counts()


def restored(changelog: Changelog) -> PartitionJudge:
    judge = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), frozenset({"DUR"}))
    list(judge.restore(held(changelog)))
    return judge


NEW = (recorded("2025-06-01T10:00:00Z", case="new", **SERIOUS), "DUR", 100)


def test_a_partition_keeps_its_retired_cases_in_one_archive_record_not_one_each() -> None:
    live, changelog = live_judge([*old_cases(5), NEW])
    archives, deletions = live.retire(MARGIN)
    assert [a.key for a in archives] == [ARCHIVE_PREFIX + b"0/0"]
    assert sorted(f.retired.case_id for f in decode_archive(archives[0].value or b"")) == [
        f"old{i}" for i in range(5)
    ]
    assert len(deletions) == 10
    assert all(d.value is None for d in deletions)
    write(changelog, [*archives, *deletions])
    assert sum(1 for v in changelog.values() if v is not None) == 2  # the new case, the archive
    assert outputs(restored(changelog)) == outputs(live)


def test_a_full_archive_record_opens_the_next_and_a_restored_judge_goes_on_filling_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("refmon.streams.worker.open_archive.ARCHIVE_CASES", 2)
    live, changelog = live_judge([*old_cases(3), NEW])
    archives, deletions = live.retire(MARGIN)
    assert [a.key for a in archives] == [ARCHIVE_PREFIX + n for n in (b"0/0", b"0/1")]
    write(changelog, [*archives, *deletions])
    judge = restored(changelog)
    assert outputs(judge) == outputs(live)
    later = (closed("2025-06-20T10:00:00Z", case="new"), "DUR", 101)
    for delivery in deliveries(later):
        write(changelog, judge.judge([delivery]).state)
    archives, _ = judge.retire(-MARGIN)  # a margin that lets "new" retire too
    [number_one] = archives
    assert number_one.key == ARCHIVE_PREFIX + b"0/1"
    assert [f.retired.case_id for f in decode_archive(number_one.value or b"")] == [
        "old2",
        "new",
    ]


def single_records(changelog: Changelog) -> Changelog:
    """The same retired cases as an earlier release kept them: one record each."""
    singles: Changelog = {}
    for key, value in changelog.items():
        if key.startswith(ARCHIVE_PREFIX) and value is not None:
            singles.update({f.key: encode_folded(f) for f in decode_archive(value)})
        else:
            singles[key] = value
    return singles


def test_an_earlier_releases_single_records_are_archived_then_deleted_and_restore_alike() -> None:
    live, changelog = live_judge([*old_cases(4), NEW])
    archives, deletions = live.retire(MARGIN)
    write(changelog, [*archives, *deletions])
    earlier = single_records(changelog)
    assert sum(1 for k in earlier if k.endswith(RETIRED_SUFFIX)) == 4
    judge = restored(earlier)
    assert outputs(judge) == outputs(live)
    archived, removed = judge.archive_singles()
    assert [a.key for a in archived] == [ARCHIVE_PREFIX + b"0/0"]
    assert sorted(r.key or b"" for r in removed) == sorted(
        k for k in earlier if k.endswith(RETIRED_SUFFIX)
    )
    assert all(r.value is None for r in removed)
    write(earlier, [*archived, *removed])
    assert held(earlier).single == ()
    assert outputs(restored(earlier)) == outputs(live)


def test_a_case_both_archived_and_in_a_single_record_counts_once() -> None:
    live, changelog = live_judge([*old_cases(2), NEW])
    archives, deletions = live.retire(MARGIN)
    write(changelog, [*archives, *deletions])
    both = {**changelog, **single_records(changelog)}  # archiving cut short by a crash
    stored = held(both)
    assert stored.retired_count() == 2
    assert all(case is None for _, case in stored.single)  # only to delete
    judge = judge_for()
    list(judge.restore(stored))
    assert outputs(judge) == outputs(live)
    archived, removed = judge.archive_singles()
    assert archived == []
    assert len(removed) == 2


def test_an_archive_record_stays_inside_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("refmon.streams.worker.open_archive.ARCHIVE_BYTES", 1)  # one case a record
    live, changelog = live_judge([*old_cases(3), NEW])
    archives, deletions = live.retire(MARGIN)
    assert [len(decode_archive(a.value or b"")) for a in archives] == [1, 1, 1]
    write(changelog, [*archives, *deletions])
    assert outputs(restored(changelog)) == outputs(live)


def test_refmon_report_reading_every_partition_into_one_table_keeps_each_ones_archive() -> None:
    merged: Changelog = {}
    judges = []
    for partition, force in enumerate(("DUR", "MPS")):
        judge = PartitionJudge(
            partition, bootstrap.new_engine(), TOPICS, Counts(), frozenset({force})
        )
        stream = [
            (recorded(e["occurred_at"], case=e["case_id"], force=force, **SERIOUS), force, o)
            for e, _, o in old_cases(2)[::2]
        ]
        stream.append((recorded("2025-06-01T10:00:00Z", case="new", force=force), force, 99))
        for delivery in deliveries(*stream):
            write(merged, judge.judge([delivery]).state)
        archives, deletions = judge.retire(MARGIN)
        write(merged, [*archives, *deletions])
        judges.append(judge)
    assert held(merged).retired_count() == 4
    assert restored(merged).engine.valid == sum(j.engine.valid for j in judges)


def test_refmon_report_keeps_every_partitions_late_repeats_of_retired_cases() -> None:
    merged: Changelog = {}
    for partition, force in enumerate(("DUR", "MPS")):
        judge = PartitionJudge(
            partition, bootstrap.new_engine(), TOPICS, Counts(), frozenset({force})
        )
        first = recorded("2024-01-02T10:00:00Z", case="old", force=force, **SERIOUS)
        stream = [
            (first, force, 1),
            (recorded("2025-06-01T10:00:00Z", case="new", force=force), force, 2),
        ]
        for delivery in deliveries(*stream):
            write(merged, judge.judge([delivery]).state)
        archives, deletions = judge.retire(MARGIN)
        write(merged, [*archives, *deletions])
        for delivery in deliveries((first, force, 3)):  # a late repeat of a retired case's
            write(merged, judge.judge([delivery]).state)
    assert len(held(merged).late) == 2
    assert restored(merged).engine.duplicate == 2


def test_a_replay_notes_each_source_partitions_highest_retired_offset_once() -> None:
    """Restoring costs one note per source partition, not one per retired case's delivery;
    the judge still skips everything at or below what it applied."""
    live, changelog = live_judge([*old_cases(3), NEW])
    archives, deletions = live.retire(MARGIN)
    write(changelog, [*archives, *deletions])
    noted: list[Source] = []
    list(replay(bootstrap.new_engine(), held(changelog), note=noted.append))
    assert noted == [Source("DUR", 0, 5)]  # old0..old2: offsets 0..5
    judge = restored(changelog)
    [again] = deliveries((closed("2024-01-20T10:00:00Z", case="old1"), "DUR", 3))
    assert judge.judge([again]) == ([], [], [])
    assert outputs(judge) == outputs(live)


def earlier_format(
    changelog: Changelog, version: int, encode: Callable[[Folded], bytes]
) -> Changelog:
    """The same archive records as an earlier build wrote them: no summary line, each case
    encoded by `encode`."""
    earlier: Changelog = {}
    for key, value in changelog.items():
        if key.startswith(ARCHIVE_PREFIX) and value is not None:
            cases = b",".join(encode(f) for f in decode_archive(value))
            earlier[key] = b'{"version":%d,"cases":[' % version + cases + b"]}"
        else:
            earlier[key] = value
    return earlier


def format_one(changelog: Changelog) -> Changelog:
    """Format 1: each case an object."""
    return earlier_format(changelog, 1, encode_folded)


def format_two(changelog: Changelog) -> Changelog:
    """Format 2: each case a list."""
    return earlier_format(changelog, 2, encode_case)


def head_of(value: bytes | None) -> dict[str, Any]:
    line, newline, _ = (value or b"").partition(b"\n")
    assert newline, "a summary line, then the cases"
    return dict(json.loads(line))


@pytest.mark.parametrize("earlier_format", [format_one, format_two])
def test_archive_records_lead_with_a_summary_and_earlier_formats_still_restore(
    earlier_format: Callable[[Changelog], Changelog],
) -> None:
    live, changelog = live_judge([*old_cases(3), NEW])
    archives, deletions = live.retire(MARGIN)
    write(changelog, [*archives, *deletions])
    head = head_of(archives[0].value)
    assert head["version"] == 3
    assert sorted(head["forces"]["DUR"].split("\n")) == ["old0", "old1", "old2"]
    assert head["valid"] == 6
    earlier = earlier_format(changelog)
    assert b"\n" not in (earlier[archives[0].key or b""] or b"")
    assert [f for r in held(earlier).archive for f in r.folded()] == [
        f for r in held(changelog).archive for f in r.folded()
    ]
    judge = restored(earlier)
    assert outputs(judge) == outputs(live)
    later = (closed("2025-06-20T10:00:00Z", case="new"), "DUR", 101)
    for delivery in deliveries(later):
        judge.judge([delivery])
    [rewritten], _ = judge.retire(-MARGIN)  # the open record, rewritten in format 3
    assert head_of(rewritten.value)["version"] == 3
    assert sorted(head_of(rewritten.value)["forces"]["DUR"].split("\n")) == [
        "new",
        "old0",
        "old1",
        "old2",
    ]


def test_a_restore_reads_the_summaries_and_leaves_the_cases_until_one_is_needed() -> None:
    old = old_cases(3)
    live, changelog = live_judge([*old, NEW])
    archives, deletions = live.retire(MARGIN)
    write(changelog, [*archives, *deletions])
    judge = restored(changelog)
    engine = judge.engine
    assert engine.settle_some(0), "the archive record is not read yet"
    assert engine.is_retired("DUR", "old1")
    # A late repeat of a retired case's event is a duplicate, known from the summary.
    closing, _, _ = old[3]  # old1's `case.closed`
    [again] = deliveries((closing, "DUR", 300))
    before = engine.duplicate
    judge.judge([again])
    live.judge([again])
    assert engine.duplicate == before + 1
    assert engine.settle_some(0), "still not read"
    assert engine.open_counts() == live.engine.open_counts()
    assert outputs(judge) == outputs(live)  # the findings list reads every case
    assert not engine.settle_some(0)


def test_a_case_in_two_archive_records_counts_once() -> None:
    live, changelog = live_judge([*old_cases(2), NEW])
    archives, deletions = live.retire(MARGIN)
    write(changelog, [*archives, *deletions])
    [(key, value)] = [(k, v) for k, v in changelog.items() if k.startswith(ARCHIVE_PREFIX)]
    doubled = {**changelog, key[:-1] + b"7": value}  # no release writes this
    stored = held(doubled)
    assert stored.retired_count() == 2
    assert outputs(restored(doubled)) == outputs(live)


def test_an_archive_record_of_a_format_this_release_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="archive format 4"):
        decode_archive(b'{"version":4,"cases":[]}')
    with pytest.raises(ValueError, match="archive format 4"):
        decode_archive(b'{"version":4}\n[]')
