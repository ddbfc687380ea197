"""From raw bytes (a JSON line or a Kafka message value) to a valid event or a rejection."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from refmon.schemas.duplicates import repeated_key, unique_keys
from refmon.schemas.events import AnyEvent, EventAdapter
from refmon.schemas.rejections import Rejection, reject

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


def decode(adapter: EventAdapter, raw: bytes) -> AnyEvent | Rejection:
    try:
        event = adapter.validate_json(raw)
    except ValidationError as err:
        rejection = reject(err)
    else:
        # The parser kept the last of a repeated key; another reader may keep the first.
        if unique_keys(raw, event):
            return event
        repeated = repeated_key(raw)
        if repeated is None:
            return event
        return Rejection("duplicate_key", f"{repeated}: repeated key (each key may appear once)")
    if rejection.code == "not_json":
        # The JSON parser refuses bad UTF-8 too; say which it was, by byte offset.
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Rejection("invalid_utf8", f"not valid UTF-8 at byte {bad.start}")
    return rejection
