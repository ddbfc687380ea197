"""A judge's snapshot plus the changelog written after it is the judge a full restore makes."""

from __future__ import annotations

import gc
import json
import pickle
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from refmon.schemas import event_adapter, load_forces
from refmon.streams.engine.retired_store import Archived, RetiredCases
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.kafka.state import held
from refmon.streams.kafka.topics import expected_source
from refmon.streams.wire.delivery import decode_delivery
from refmon.streams.wire.encode import dumps_report, finding_json
from refmon.streams.worker import snapshot, snapshot_pickle
from refmon.streams.worker.intake import Intake, WatchdogIds
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.messages import Counts
from refmon.streams.worker.tail import TailError, catch_up

from refmon import bootstrap
from tests.unit.test_retirement import two_years
from tests.unit.test_worker_core import NOW_MS, TOPICS

MARGIN = 395 * MICROS_PER_DAY
RETIRE_EVERY = 500
Log = list[tuple[bytes, bytes | None]]


def new_judge() -> PartitionJudge:
    sources = frozenset({*(f.code for f in load_forces()), "watchdog"})
    return PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), sources)


class Lived:
    """A judge that judged the whole history, retiring as housekeeping does, and the
    changelog it wrote, in order; `at` is where the snapshot was taken."""

    def __init__(self, snapshot_at: float, repeat: float | None = None) -> None:
        self.judge = new_judge()
        self.log: Log = []
        self.snapshot: bytes = b""
        self.at = 0
        stage = Intake(event_adapter(), TOPICS, WatchdogIds(TOPICS.watchdog_ids), Counts())
        events = _history()
        offsets: defaultdict[str, int] = defaultdict(int)
        at = int(len(events) * snapshot_at)
        if repeat is not None:  # an event sent again just after the snapshot
            events = (*events[:at], events[int(len(events) * repeat)], *events[at:])
        for n, event in enumerate(events, 1):
            source = expected_source(event["event_type"], event["force"])
            sends = stage.take(
                TOPICS.input(source), 0, offsets[source], NOW_MS, json.dumps(event).encode()
            )
            offsets[source] += 1
            for forward in (s for s in sends if s.topic == TOPICS.by_force):
                judged = self.judge.judge([decode_delivery(forward.value or b"")])
                self.log += [(r.key or b"", r.value) for r in judged.state]
            if n % RETIRE_EVERY == 0:
                archives, deletions = self.judge.retire(MARGIN)
                self.log += [(r.key or b"", r.value) for r in (*archives, *deletions)]
            if n == at:
                state = self.judge.state()
                assert state is not None
                self.snapshot, self.at = snapshot_pickle.dumps(state), len(self.log)


@cache
def _history() -> tuple[dict[str, Any], ...]:
    return tuple(two_years())


@cache
def lived(at: float = 0.6, repeat: float | None = None) -> Lived:
    return Lived(at, repeat)


def outcome(judge: PartitionJudge) -> tuple[str, list[str], int, int]:
    engine = judge.engine
    report = dumps_report(engine.report(365))  # first: it sets the force-level findings
    findings = [json.dumps(finding_json(f)) for f in engine.findings()]
    return report, findings, engine.valid, engine.duplicate


def resumed(life: Lived, body: bytes | None = None) -> PartitionJudge:
    judge = new_judge()
    state = snapshot_pickle.loads(body or life.snapshot, judge.engine.ruleset)
    assert isinstance(state, snapshot.JudgeState)
    judge.resume(state)
    return judge


def state_of(judge: PartitionJudge) -> snapshot.JudgeState:
    state = judge.state()
    assert state is not None
    return state


def restored(log: Log) -> PartitionJudge:
    judge = new_judge()
    for _ in judge.restore(held(dict(log))):
        pass
    return judge


def test_a_snapshot_and_the_changelog_after_it_make_the_judge_a_full_restore_makes() -> None:
    life = lived()
    tail = life.log[life.at :]
    retired_in_tail = [k for k, v in tail if k.startswith(b"#retired/") and v is not None]
    assert retired_in_tail, "the history must retire cases after the snapshot"
    judge = resumed(life)
    caught = catch_up(judge, tail)
    assert caught.records == len(tail)
    assert caught.retired > 0
    assert outcome(judge) == outcome(life.judge) == outcome(restored(life.log))


def test_a_judge_restored_with_archive_records_it_has_not_read_yet_snapshots_alike() -> None:
    # A restore reads archive records' summaries only; the cases wait, with their reader.
    life = lived()
    judge = restored(life.log)
    assert judge.engine._unsettled, "the restore left archive records to read"
    state = judge.state()
    assert state is not None
    again = new_judge()
    loaded = snapshot_pickle.loads(snapshot_pickle.dumps(state), again.engine.ruleset)
    assert isinstance(loaded, snapshot.JudgeState)
    again.resume(loaded)
    assert outcome(again) == outcome(judge)


def test_a_snapshot_holds_retired_cases_apart_and_a_resumed_engine_reads_them_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read back, a snapshot's retired cases wait in parts, as a restore's archive records
    # do: a resume reads their ids, and the engine the cases a part at a time.
    monkeypatch.setattr(snapshot_pickle, "CASES_APART", 50)
    life = lived()
    state = snapshot_pickle.loads(life.snapshot, new_judge().engine.ruleset)
    assert isinstance(state, snapshot.JudgeState)
    body = snapshot_pickle.dumps(state)  # taken again, with parts of 50
    judge = resumed(life, body)
    engine = judge.engine
    stores = engine._retired.values()
    held = sum(map(len, stores))
    assert held > 100, "the history must have retired cases before the snapshot"
    assert not any(store.read_cases() for store in stores)
    parts = len(engine._unsettled)
    assert parts >= held // 50
    assert engine.settle_some(1)
    assert sum(len(store.read_cases()) for store in stores) <= 50
    catch_up(judge, life.log[life.at :])
    assert outcome(judge) == outcome(life.judge)
    assert sum(len(store.read_cases()) for store in stores) == sum(map(len, stores))


def test_a_snapshot_writes_again_the_parts_of_retired_cases_the_last_one_pickled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(snapshot_pickle, "CASES_APART", 50)
    judge = resumed(lived())
    judge.engine.settle_all()
    parts = snapshot_pickle.Parts()
    first = snapshot_pickle.dumps(state_of(judge), parts)
    before = dict(parts._kept)
    assert len(before) > 2
    assert snapshot_pickle.dumps(judge.state(), parts) == first  # type: ignore[arg-type]
    assert all(parts._kept[key] is part for key, part in before.items())
    judge.retire(-MARGIN)  # every case retires: each force's last part changes
    body = snapshot_pickle.dumps(state_of(judge), parts)
    kept = [key for key, part in before.items() if parts._kept.get(key) is part]
    changed = [key for key in before if key not in kept]
    assert kept
    assert changed
    again = resumed(lived(), body)
    assert outcome(again) == outcome(judge)


def test_a_part_of_retired_cases_naming_anything_else_is_refused(tmp_path: Path) -> None:
    sprung = tmp_path / "sprung"
    with pytest.raises(pickle.UnpicklingError):
        snapshot_pickle.PickledCases(pickle.dumps(Trap(sprung))).retired()
    assert not sprung.exists()
    with pytest.raises(pickle.UnpicklingError, match="not retired cases"):
        snapshot_pickle.PickledCases(pickle.dumps([1, 2])).retired()


def test_a_tail_that_starts_before_the_snapshot_ends_changes_nothing_twice() -> None:
    # A snapshot names the last delivery its lane landed, not the archive records and
    # deletions after it (rewritten or removed by compaction): those are read again.
    life = lived()
    before = life.log[: life.at]
    archived = max(i for i, (k, v) in enumerate(before) if k.startswith(b"#retired/") and v)
    anchor = max(i for i, (k, _) in enumerate(before[:archived]) if not k.startswith(b"#"))
    assert any(v is None for _, v in before[anchor:])  # deletions in the overlap too
    judge = resumed(life)
    catch_up(judge, life.log[anchor + 1 :])
    assert outcome(judge) == outcome(life.judge)
    mine, theirs = judge.state(), life.judge.state()
    assert mine is not None
    assert theirs is not None
    assert mine._replace(engine=None) == theirs._replace(engine=None)


def test_a_resumed_judge_holds_what_the_one_that_never_stopped_holds_and_goes_on_alike() -> None:
    life = lived()
    judge = resumed(life)
    catch_up(judge, life.log[life.at :])
    state, theirs = judge.state(), life.judge.state()
    assert state is not None
    assert theirs is not None
    assert state._replace(engine=None) == theirs._replace(engine=None)
    # Retiring everything writes what a fully restored judge writes: the open archive
    # record goes on alike.
    full = restored(life.log)
    assert judge.retire(-MARGIN) == full.retire(-MARGIN)
    assert outcome(judge) == outcome(full)


def test_a_tail_that_compaction_thinned_is_refused_not_applied() -> None:
    # A repeat of an old case's event just after the snapshot: a delivery in the tail,
    # deleted in the tail when its case retires.
    life = lived(0.6, repeat=0.2)
    tail = life.log[life.at :]
    judge = resumed(life)
    catch_up(judge, tail)
    assert outcome(judge) == outcome(life.judge)  # whole, the tail is applied
    deleted = {k for k, v in tail if v is None}
    # What the cleaner leaves: a deleted key's earlier values are gone.
    thinned = [(k, v) for k, v in tail if v is None or k not in deleted]
    assert len(thinned) == len(tail) - 1
    with pytest.raises(TailError, match="retires otherwise"):
        catch_up(resumed(life), thinned)


def test_a_tail_with_an_earlier_releases_records_is_refused() -> None:
    life = lived()
    with pytest.raises(TailError, match="earlier release"):
        catch_up(resumed(life), [(b"DUR/c1@retired", b"{}")])


def save_and_load(tmp_path: Path, body: bytes, print_: str | None = None) -> Any:
    judge = new_judge()
    path = snapshot.path_of(tmp_path, TOPICS.cases_changelog, 0)
    right = snapshot.fingerprint(judge, TOPICS.cases_changelog)
    snapshot.save(path, print_ or right, 41, b"DUR/c1@DUR:0:3", 44, body)
    return path, snapshot.load(path, right, judge.engine.ruleset)


def test_a_saved_snapshot_loads_with_its_mark(tmp_path: Path) -> None:
    life = lived()
    _, loaded = save_and_load(tmp_path, life.snapshot)
    assert loaded is not None
    assert loaded.offset == 41
    assert loaded.through == 44
    assert loaded.key_hash == snapshot.key_hash(b"DUR/c1@DUR:0:3")
    judge = new_judge()
    judge.resume(loaded.state)
    catch_up(judge, life.log[life.at :])
    assert outcome(judge) == outcome(life.judge)


def test_a_snapshot_of_other_code_or_settings_is_set_aside(tmp_path: Path) -> None:
    path, loaded = save_and_load(tmp_path, lived().snapshot, print_="another release")
    assert loaded is None
    assert not path.exists()
    assert path.with_suffix(".unused").exists()


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9, 1.0])
def test_a_snapshot_damaged_on_disk_is_set_aside(tmp_path: Path, where: float) -> None:
    # On disk, after it was written: a flipped byte in a string would still unpickle, so
    # the hash is what must catch it, wherever it falls.
    judge = new_judge()
    path = snapshot.path_of(tmp_path, TOPICS.cases_changelog, 0)
    right = snapshot.fingerprint(judge, TOPICS.cases_changelog)
    snapshot.save(path, right, 41, b"k", 41, lived().snapshot)
    data = bytearray(path.read_bytes())
    data[min(len(data) - 1, int(len(data) * where))] ^= 0x01
    path.write_bytes(bytes(data))
    assert snapshot.load(path, right, judge.engine.ruleset) is None
    assert path.with_suffix(".unused").exists()


AGAIN = """
import json, sys
from collections import defaultdict
from pathlib import Path
from refmon.schemas import event_adapter
from refmon.streams.kafka.topics import expected_source
from refmon.streams.wire.delivery import decode_delivery
from refmon.streams.worker.intake import Intake, WatchdogIds
from refmon.streams.worker.messages import Counts
from tests.unit.test_snapshot import NOW_MS, TOPICS, _history, new_judge, snapshot_pickle
judge = new_judge()
judge.resume(snapshot_pickle.loads(Path(sys.argv[1]).read_bytes(), judge.engine.ruleset))
stage = Intake(event_adapter(), TOPICS, WatchdogIds(TOPICS.watchdog_ids), Counts())
offsets, refused = defaultdict(lambda: 10**6), 0
for event in _history()[: len(_history()) // 2]:  # all before the snapshot: repeats
    source = expected_source(event["event_type"], event["force"])
    line = json.dumps(event).encode()
    sends = stage.take(TOPICS.input(source), 0, offsets[source], NOW_MS, line)
    offsets[source] += 1
    for forward in (s for s in sends if s.topic == TOPICS.by_force):
        refused += len(judge.judge([decode_delivery(forward.value or b"")]).refused)
print(refused, judge.engine.duplicate)
"""


def test_a_snapshot_read_in_another_process_takes_repeats_for_duplicates(tmp_path: Path) -> None:
    # The engine's fingerprints are hash()es, which differ between processes: read back,
    # a snapshot keeps the ids, and a repeat is a duplicate, not a conflicting event.
    life = lived()
    body = tmp_path / "body"
    body.write_bytes(life.snapshot)
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    ran = subprocess.run(
        [sys.executable, "-c", AGAIN, str(body)], capture_output=True, text=True, env=env,
        cwd=root, check=True,
    )  # fmt: skip
    refused, duplicate = map(int, ran.stdout.split())
    assert refused == 0
    assert duplicate > 0


class Trap:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, (f"touch {self.path}",))


def test_a_snapshot_naming_anything_but_a_judges_parts_is_refused(tmp_path: Path) -> None:
    sprung = tmp_path / "sprung"
    _path, loaded = save_and_load(tmp_path, pickle.dumps(Trap(sprung)))
    assert loaded is None
    assert not sprung.exists()


class Binds:
    def __reduce__(self) -> tuple[Any, ...]:
        return (snapshot_pickle._bound, (1, "__class__"))


@pytest.mark.parametrize(
    "body",
    [
        b"cbuiltins\ngetattr\n.",  # with getattr, a pickle can reach anything
        b"crefmon.streams.worker.snapshot\nos\n.",  # a module a refmon module imports
        b"crefmon.streams.worker.judge\nreplay\n.",  # a function, not a class of the state
        b"crefmon.cli\nmain\n.",  # a module no state is made of
        pickle.dumps(Binds()),  # a method other than the engine's own callbacks
    ],
)
def test_a_snapshot_reaches_nothing_but_the_states_own_classes(tmp_path: Path, body: bytes) -> None:
    _path, loaded = save_and_load(tmp_path, body)
    assert loaded is None


def test_the_fingerprint_names_the_partition_and_the_topic() -> None:
    judge = new_judge()
    other = PartitionJudge(1, bootstrap.new_engine(), TOPICS, Counts(), judge.sources)
    topic = TOPICS.cases_changelog
    assert snapshot.fingerprint(judge, topic) != snapshot.fingerprint(other, topic)
    assert snapshot.fingerprint(judge, topic) != snapshot.fingerprint(judge, topic + "-x")
    assert snapshot.fingerprint(judge, topic) == snapshot.fingerprint(new_judge(), topic)


def test_a_part_without_the_cases_it_lists_fails_rather_than_waiting_for_ever() -> None:
    def settle(archived: Archived) -> None:
        archived.settled = True
        for retired in archived.read():
            store.keep(retired)

    store = RetiredCases(settle)
    store.defer(["c1"], Archived({"DUR": ["c1"]}, {}, (), 0, 0, None, list))
    with pytest.raises(LookupError, match="lacks cases it lists"):
        list(store)


def test_loads_in_threads_at_once_leave_the_cycle_collector_as_they_found_it() -> None:
    assert gc.isenabled()
    first, second = snapshot_pickle._collector_paused(), snapshot_pickle._collector_paused()
    first.__enter__()
    second.__enter__()  # began while the first had it off
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "the second load still runs"
    second.__exit__(None, None, None)
    assert gc.isenabled()
