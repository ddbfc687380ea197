"""Dead letters: a rejected input kept whole, with its reason and where it came from.

Built here and only here, for every path: a line of `refmon run` or
`refmon publish`, an input message the worker's intake refuses, and a delivery
its judge refuses. One shape and one encoder, so the same input makes a
byte-identical letter whichever path refused it (docs/contract.md section 9).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from refmon.schemas.rejections import Rejection

__all__ = ["DeadLetter", "dumps_dead_letter"]

_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected input, kept whole so that nothing is lost, with where it came from."""

    source: dict[str, Any]
    """Where to find it: {"line": n} for a file, topic/partition/offset for Kafka."""
    rejection: Rejection
    raw: bytes | None
    """The input itself; None when it was too long to hold."""
    size: int

    @classmethod
    def of_line(
        cls, number: int, rejection: Rejection, data: bytes | None, size: int
    ) -> DeadLetter:
        return cls({"line": number}, rejection, data, size)

    @classmethod
    def of_message(
        cls, topic: str, partition: int, offset: int, rejection: Rejection, raw: bytes | None
    ) -> DeadLetter:
        where = {"topic": topic, "partition": partition, "offset": offset}
        return cls(where, rejection, raw, len(raw) if raw is not None else 0)

    @property
    def key(self) -> str:
        """A Kafka input's place, `topic:partition:offset`: the dead-letter topic's key, so a
        repeat is one letter."""
        where = self.source
        return f"{where['topic']}:{where['partition']}:{where['offset']}"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = dict(self.source)
        record["reason"] = self.rejection.code
        record["message"] = self.rejection.message
        event_id = _event_id(self.raw)
        if event_id is not None:
            record["event_id"] = event_id
        record["bytes"] = self.size
        if self.raw is not None:
            try:
                record["raw"] = self.raw.decode("utf-8")
            except UnicodeDecodeError:
                record["raw_base64"] = base64.b64encode(self.raw).decode("ascii")
        return record


def _event_id(raw: bytes | None) -> str | None:
    """The rejected event's id, when it has a well-formed one: the handle to find it by."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    event_id = value.get("event_id") if isinstance(value, dict) else None
    return event_id if isinstance(event_id, str) and _EVENT_ID.match(event_id) else None


def dumps_dead_letter(letter: DeadLetter) -> str:
    """One line for every dead-letter output, file or topic: byte-identical for the same input."""
    return json.dumps(letter.to_json(), ensure_ascii=False, separators=(",", ":"))
