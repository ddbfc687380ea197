"""Input bytes (a JSON line or a Kafka message value) to a valid contract event, or a rejection."""

from __future__ import annotations

from pydantic import ValidationError
from refmon.schemas.duplicates import repeated_key, unique_keys
from refmon.schemas.events import AnyEvent, EventAdapter
from refmon.schemas.rejections import Rejection, reject


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
