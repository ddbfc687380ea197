"""What a force contributes to the cross-force view travels as JSON between Kafka workers."""

from __future__ import annotations

import json
from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine.counts import ForceCounts, MonthCounts
from refmon.streams.engine.cusum import Step
from refmon.streams.engine.report import cross_force
from refmon.streams.engine.vocabulary import DECISION_KINDS

small = st.integers(0, 10_000)
steps = st.lists(
    st.tuples(st.integers(0, 2**62), st.integers(1, 50)).flatmap(
        lambda d_n: st.builds(Step, st.just(d_n[0]), st.just(d_n[1]), st.integers(0, d_n[1]))
    ),
    max_size=30,
    unique_by=lambda step: step.deadline,
).map(lambda found: tuple(sorted(found)))


months = st.lists(
    st.builds(
        MonthCounts,
        st.sampled_from(["2025-01", "2025-02", "2026-12"]),
        st.integers(-(2**62), 2**62),
        st.integers(-(2**62), 2**62),
        st.booleans(),
        *[small] * 8,
        st.none() | st.integers(0, 2**62),
        st.none() | st.integers(0, 2**62),
    ),
    max_size=13,
).map(tuple)


@st.composite
def force_counts(draw: st.DrawFn) -> ForceCounts:
    """Counts that hang together as a force's would: parts never exceed their whole."""
    timeliness = draw(steps)
    due = sum(s.due for s in timeliness)
    late_or_overdue = sum(s.late_or_overdue for s in timeliness)
    late = draw(st.integers(0, late_or_overdue))
    recorded = draw(small)
    return ForceCounts(
        recorded=recorded,
        mandatory=draw(st.integers(0, recorded)),
        voluntary=draw(small),
        due=due,
        on_time=due - late_or_overdue,
        late=late,
        overdue=late_or_overdue - late,
        pending=draw(small),
        decisions=draw(st.fixed_dictionaries({d: small for d in DECISION_KINDS})),
        timeliness=timeliness,
        as_of=draw(st.none() | st.integers(-(2**62), 2**62)),
        monthly=draw(months),
    )


forces = st.dictionaries(st.sampled_from(["DUR", "MPS", "KENT", "GMP"]), force_counts(), min_size=1)


@settings(max_examples=200, deadline=None)
@given(force_counts())
def test_to_json_and_back_through_text_gives_an_equal_value(counts: ForceCounts) -> None:
    text = json.dumps(counts.to_json())
    assert ForceCounts.from_json(json.loads(text)) == counts


@settings(max_examples=100, deadline=None)
@given(forces)
def test_the_cross_force_view_from_published_counts_equals_the_one_from_the_originals(
    counts: dict[str, ForceCounts],
) -> None:
    published = {f: json.loads(json.dumps(c.to_json())) for f, c in counts.items()}
    read_back = {f: ForceCounts.from_json(body) for f, body in published.items()}
    assert cross_force(read_back, {}) == cross_force(counts, {})


@settings(max_examples=100, deadline=None)
@given(forces)
def test_the_workers_current_asdict_encoding_still_gives_the_same_statistics(
    counts: dict[str, ForceCounts],
) -> None:
    # Today's worker publishes `asdict(counts)` and reads `ForceCounts(**values)`.
    loose = {f: ForceCounts(**json.loads(json.dumps(asdict(c)))) for f, c in counts.items()}
    strict_rows, strict_national = cross_force(counts, {})
    loose_rows, loose_national = cross_force(loose, {})
    assert loose_national == strict_national
    for strict, lax in zip(strict_rows, loose_rows, strict=True):
        assert (strict.timeliness_cusum, strict.timeliness_status) == (
            lax.timeliness_cusum,
            lax.timeliness_status,
        )
        assert (strict.returned_share_z, strict.compliance_z) == (
            lax.returned_share_z,
            lax.compliance_z,
        )


def test_a_body_from_before_decisions_and_timeliness_reads_as_empty() -> None:
    old = {"recorded": 3, "mandatory": 1, "voluntary": 0, "due": 1, "on_time": 1}
    old |= {"late": 0, "overdue": 0, "pending": 0}
    counts = ForceCounts.from_json(old)
    assert (counts.recorded, counts.decided, counts.timeliness, counts.as_of) == (3, 0, (), None)
    assert counts.monthly == ()
