"""When a case's duty became known (streams/engine/known_duty.py, docs/contract.md section 14)."""

from __future__ import annotations

from typing import Any

from refmon.streams.engine.known_duty import KnownDuty, known_duties

from tests.factories import judge, micros, recorded, updated

MAR_31 = "2026-03-31T00:00:00Z"
APR_01_NOON = "2026-04-01T12:00:00Z"
APR_05 = "2026-04-05T00:00:00Z"


def _steps(events: list[dict[str, Any]]) -> tuple[KnownDuty, ...] | None:
    engine = judge(events, "2026-04-10T00:00:00Z")
    case = engine.case_state("DUR", "c1")
    assert case is not None

    def linked_known(case_id: str) -> tuple[int | None, int | None]:
        other = engine.case_state("DUR", case_id)
        return (None, None) if other is None else (other.own_duty_at, other.recorded_at)

    bit = engine.ruleset.linked_bit
    return known_duties(case, linked_known, bit, lambda at: at + 1)


def test_a_duty_through_a_linked_case_recorded_later_is_known_from_that_recording() -> None:
    steps = _steps(
        [
            recorded("2026-03-27T00:00:00Z", case="c1"),
            updated(MAR_31, case="c1", linked=["c2"]),
            updated("2026-03-27T00:00:00Z", case="c2", categories=["serious_assault"]),
            recorded(APR_05, case="c2"),
        ]
    )
    assert steps == (KnownDuty(micros(APR_05), micros(MAR_31), micros(MAR_31) + 1),)


def test_a_later_duty_of_its_own_counts_until_the_earlier_one_is_known() -> None:
    steps = _steps(
        [
            recorded("2026-03-27T00:00:00Z", case="c1"),
            updated(MAR_31, case="c1", linked=["c2"]),
            updated(APR_01_NOON, case="c1", categories=["serious_assault"], linked=["c2"]),
            updated("2026-03-27T00:00:00Z", case="c2", categories=["serious_assault"]),
            recorded(APR_05, case="c2"),
        ]
    )
    assert steps == (
        KnownDuty(micros(APR_01_NOON), micros(APR_01_NOON), micros(APR_01_NOON) + 1),
        KnownDuty(micros(APR_05), micros(MAR_31), micros(MAR_31) + 1),
    )


def test_a_duty_known_as_it_arose_has_no_steps() -> None:
    steps = _steps(
        [
            recorded("2026-03-27T00:00:00Z", case="c2", categories=["serious_assault"]),
            recorded(MAR_31, case="c1", linked=["c2"]),
        ]
    )
    assert steps is None
