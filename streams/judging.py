"""The one judging step both runners call: a valid event applied, or why it cannot be.

Owned by neither runner: `refmon run` (streams/runner/embedded.py) and the Kafka
worker's partition judge (streams/worker/judge.py) both import it from here, so a
line and a Kafka message are judged alike and neither runner depends on the other.
"""

from __future__ import annotations

from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Engine, Event
from refmon.streams.engine.engine import Applied
from refmon.streams.engine.links import MAX_FACT_VERSIONS, MAX_LINKED_IDS
from refmon.streams.time_range import out_of_range

__all__ = ["judge"]


def judge(engine: Engine, event: Event, received_at_us: int) -> Applied | Rejection:
    """Apply one valid event, or say why it cannot be applied. Never raises.

    `received_at_us` both bounds the event's time and caps how far it moves the
    clock (docs/contract.md section 13).
    """
    rejection = out_of_range("occurred_at", event.occurred_at_us, received_at_us)
    if rejection is not None:
        return rejection
    try:
        applied = engine.apply(event, received_at_us)
    # One event must never stop a run or stall a partition. Being stopped (SIGTERM,
    # Ctrl-C) is a BaseException and passes: a valid event is never a dead letter for it.
    except Exception as err:
        return Rejection("internal_error", f"judging the event failed: {type(err).__name__}")
    if applied.outcome == "conflict":
        return Rejection(
            "conflicting_duplicate",
            "event_id: already used by this source for an event with other content",
        )
    if applied.outcome == "retired":
        return Rejection(
            "retired_case",
            "case_id: the case was retired, quiet for longer than the statistics window",
        )
    if applied.outcome == "limit":
        return Rejection(
            "case_limit_exceeded",
            f"case_id: a case holds at most {MAX_FACT_VERSIONS:,} case.recorded/case.updated "
            f"events and {MAX_LINKED_IDS:,} distinct linked_case_ids",
        )
    return applied
