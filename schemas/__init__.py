"""Event contract v1 on the wire: strict pydantic models and their JSON Schemas."""

from refmon.schemas.events import (
    EVENT_MODELS,
    AnyEvent,
    EventAdapter,
    event_adapter,
)
from refmon.schemas.forces import Force, load_forces
from refmon.schemas.rejections import Rejection, reject

__all__ = [
    "EVENT_MODELS",
    "AnyEvent",
    "EventAdapter",
    "Force",
    "Rejection",
    "event_adapter",
    "load_forces",
    "reject",
]
