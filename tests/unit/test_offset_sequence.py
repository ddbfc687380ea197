from refmon.streams.worker.sequence import OffsetSequence


def test_in_order_offsets_and_re_reads_are_no_gap() -> None:
    seq = OffsetSequence()
    assert [seq.gap(0, o) for o in (25, 26, 27)] == [None, None, None]
    assert seq.gap(0, 20) is None  # read again from a committed offset
    assert seq.gap(0, 21) is None


def test_a_jump_forward_names_the_offsets_skipped() -> None:
    seq = OffsetSequence()
    seq.gap(0, 60)
    seq.gap(0, 61)
    assert seq.gap(0, 64) == (62, 63)
    assert seq.gap(0, 65) is None


def test_partitions_are_tracked_apart_and_an_assignment_starts_afresh() -> None:
    seq = OffsetSequence()
    seq.gap(0, 10)
    assert seq.gap(1, 500) is None  # the first offset seen on partition 1
    seq.reset()
    assert seq.gap(0, 90) is None
