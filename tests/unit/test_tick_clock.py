"""A deadline that passes with no event opens a finding at a wall-clock tick; a restore knows
those ticks from the partition's tick clock record and announces nothing again."""

from __future__ import annotations

from refmon.streams.kafka.state import held, is_tick_clock_key
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.messages import Counts
from refmon.streams.worker.tail import catch_up

from refmon import bootstrap
from tests.factories import micros, recorded
from tests.unit.test_worker_core import SERIOUS, TOPICS, deliveries

Changelog = dict[bytes, bytes | None]


def lived() -> tuple[PartitionJudge, Changelog, list[tuple[bytes, bytes | None]]]:
    """A judge that judged a serious case never referred, then ticked past its deadline; its
    changelog, and the records it wrote in order."""
    judge = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), frozenset({"DUR"}))
    log: list[tuple[bytes, bytes | None]] = []
    [delivery] = deliveries((recorded("2026-02-02T10:00:00Z", **SERIOUS), "DUR", 0))
    log += [(r.key or b"", r.value) for r in judge.judge([delivery]).state]
    assert judge.tick(micros("2026-02-02T12:00:00Z")) == ([], [])  # nothing due yet
    outputs, state = judge.tick(micros("2026-02-20T00:00:00Z"))
    assert outputs, "the deadline passed: a finding opens"
    assert [is_tick_clock_key(r.key or b"") for r in state] == [True]
    log += [(r.key or b"", r.value) for r in state]
    return judge, dict(log), log


def restored(changelog: Changelog) -> PartitionJudge:
    judge = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), frozenset({"DUR"}))
    for _ in judge.restore(held(changelog)):
        pass
    return judge


def test_a_restored_judge_announces_nothing_the_ticks_before_it_announced() -> None:
    live, changelog, _ = lived()
    later = micros("2026-02-21T00:00:00Z")
    assert restored(changelog).tick(later) == ([], [])
    assert list(restored(changelog).engine.findings()) == list(live.engine.findings())
    # Without the tick clock record, the restore would announce the finding again.
    deliveries_only = {k: v for k, v in changelog.items() if not is_tick_clock_key(k)}
    assert restored(deliveries_only).tick(later)[0]


def test_a_snapshots_tail_moves_the_clock_as_a_restore_does() -> None:
    _, _, log = lived()
    judge = PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), frozenset({"DUR"}))
    catch_up(judge, log)  # a snapshot taken before anything: the tail is everything
    assert judge.tick(micros("2026-02-21T00:00:00Z")) == ([], [])
