"""JSON Schema files for force integrators, generated from the models."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter
from refmon.schemas.events import EVENT_MODELS, AnyEvent

SCHEMA_BASE = "https://refmon.example/schemas/v1/"


def _document(name: str, schema: dict[str, Any], title: str) -> str:
    doc: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE + name,
        "title": title,
    }
    doc.update({k: v for k, v in schema.items() if k != "title"})
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    """File name -> content: one schema for any event, and one per event type."""
    files = {
        "event.schema.json": _document(
            "event.schema.json",
            TypeAdapter(AnyEvent).json_schema(),
            "refmon event (contract v1, any type)",
        )
    }
    for model in EVENT_MODELS:
        event_type = model.model_fields["event_type"].annotation.__args__[0]  # type: ignore[union-attr]
        name = f"{event_type}.schema.json"
        files[name] = _document(
            name, model.model_json_schema(), f"refmon event {event_type} (contract v1)"
        )
    return files
