"""The worker's two watches: records that never arrived, and partitions that stopped moving."""

from __future__ import annotations

from refmon.streams.worker.gaps import GapTracker
from refmon.streams.worker.stalls import StallWatch


def test_a_jump_forward_names_exactly_the_skipped_offsets() -> None:
    gaps: GapTracker[int] = GapTracker()
    gaps.reset(0, 10)
    assert gaps.missing(0, 10) is None
    gaps.seen(0, 12)
    assert gaps.missing(0, 16) == (13, 15)
    assert gaps.missing(0, 11) is None  # a re-read after a seek back is no gap
    gaps.reset(1, None)
    assert gaps.missing(1, 500) is None  # nothing committed yet: the log start, not a gap
    assert gaps.next(0) == 13


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_with_lag_and_no_progress_is_stalled_then_resumed_then_restarted() -> None:
    clock = Clock()
    watch: StallWatch[str] = StallWatch(30, clock)
    assert watch.check({"p": 100}, {"p": 40}, set()) == {"p": 60}
    clock.now = 29
    watch.check({"p": 100}, {"p": 40}, set())
    assert watch.to_resume() == []
    clock.now = 31
    watch.check({"p": 100}, {"p": 40}, set())
    assert (watch.to_resume(), watch.stalled(), watch.position("p")) == (["p"], {"p"}, 40)
    assert not watch.restart_needed
    clock.now = 62
    watch.check({"p": 100}, {"p": 40}, set())
    assert watch.restart_needed
    watch.restarted()
    assert (watch.restart_needed, watch.stalled()) == (False, set())


def test_progress_lag_caught_up_or_a_restoring_partition_is_never_a_stall() -> None:
    clock = Clock()
    watch: StallWatch[str] = StallWatch(30, clock)
    for second in range(0, 200, 10):
        clock.now = second
        watch.check(
            {"moving": 1000, "idle": 50, "restoring": 70},
            {"moving": second, "idle": 50, "restoring": 0},
            {"restoring"},
        )
    assert watch.to_resume() == []
    assert watch.stalled() == set()


def test_a_repeated_log_line_passes_once_a_period_then_says_how_many_were_held_back() -> None:
    import logging

    from refmon.streams.worker.logs import Repeats

    seen = Repeats(seconds=3600)

    def record(address: str) -> logging.LogRecord:
        return logging.LogRecord(
            "aiokafka", logging.ERROR, "", 0, "Unable connect to %s", (address,), None
        )

    assert seen.filter(record("a")) is True
    assert [seen.filter(record("a")) for _ in range(5)] == [False] * 5
    assert seen.filter(record("b")) is True  # another address is another fact
    other = logging.LogRecord("aiokafka", logging.ERROR, "", 0, "Another problem", (), None)
    assert seen.filter(other) is True
    ours = [
        logging.LogRecord("refmon.worker", logging.WARNING, "", 0, "restored %s", (p,), None)
        for p in "ab"
    ]
    assert [seen.filter(r) for r in ours] == [True, True]  # refmon's own lines all pass
