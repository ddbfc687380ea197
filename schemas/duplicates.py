"""Repeated keys in an event's JSON: `{"harm": "none", ..., "harm": "death"}`.

JSON parsers, pydantic's among them, silently keep the last of a repeated
key, so two readers of one line can disagree on what it says; the contract
has every key once. Finding repeats exactly takes a second parse in Python,
which would slow the run by a third or more, so a valid event first goes
through a filter that settles the common case with one byte count:

Every string in a line, key or value, brings two `"` bytes (and each escaped
`\\"` in it one more), so a line holds at least 2 x its strings in quotes. The
validated event tells how many keys and string values survived parsing
(unknown keys are errors, and strict models take strings only from JSON
strings); a repeated key is at least one string more in the line than in the
event. So a line with exactly 2 x the event's strings in quotes has no
repeated key. Every other line (one with an escaped quote, or a repeat) is
parsed again and searched exactly. A miscount here can only cost time, never
give a wrong verdict.
"""

from __future__ import annotations

import json
import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from refmon.schemas.events import CaseRecorded, CaseUpdated
from refmon.schemas.payloads import Allegation, CaseFactsPayload, ForceAssessment
from refmon.schemas.rejections import echo

# What a field holds, for counting strings: no string, a string, a string or
# null, a list of strings, a model (or null), a list of models.
_NONE, _STR, _MAYBE_STR, _STRS, _MODEL, _MODELS = range(6)
_STRING_TYPES = frozenset({str, datetime})  # a timestamp is a string on the wire
_OTHER_SCALARS = frozenset({int, float, bool, type(None)})

_Plan = tuple[int, tuple[tuple[str, int], ...]]
"""Per model: how many strings every valid instance has (its required string fields), and
the fields to count one by one."""

_plans: dict[type[BaseModel], _Plan | None] = {}


class _UncountedError(Exception):
    """A model with a field this module cannot count: the line takes the exact path."""


def unique_keys(raw: bytes, event: BaseModel) -> bool:
    """True when `raw` (the JSON `event` was validated from) certainly repeats no key; False
    when it may (then ask `repeated_key`). Cheap: one byte count and a walk of the event."""
    try:
        strings = _facts_strings(event) if type(event) in _FACT_EVENTS else _strings(event)
    except _UncountedError:
        return False
    return raw.count(b'"') == 2 * strings


def _facts_strings(event: Any) -> int:
    """`_strings` of a case.recorded or case.updated event (most of the traffic), unrolled,
    reading fields from `__dict__` (attribute access on a model is slow): the generic walk
    costs half as much again. A test holds the two equal."""
    payload = event.__dict__["payload"]
    fields = payload.__dict__
    count = (
        _FACTS_FIXED
        + len(payload.__pydantic_fields_set__)
        + len(fields["linked_case_ids"])
        + len(fields["force_assessment"].__dict__["criteria"])
    )
    for allegation in fields["allegations"]:
        count += _ALLEGATION_FIXED + len(allegation.__pydantic_fields_set__)
    return count


def repeated_key(raw: bytes) -> str | None:
    """The path of the first key that appears twice in one object of `raw`, or None."""
    try:
        path = _first_repeat(json.loads(raw, object_pairs_hook=_Pairs, strict=False))
    except RecursionError:
        # A valid event is a few levels deep; deeper nesting can only sit in a dropped value.
        return "(event)"
    except ValueError:
        # pydantic accepted what this parser does not: no verdict, and no reason to refuse.
        return None
    return None if path is None else ".".join(echo(str(part)) for part in path) or "(event)"


def _strings(model: BaseModel) -> int:
    """The keys and string values that `model` (nested models included) was read from."""
    try:
        plan = _plans[type(model)]
    except KeyError:
        plan = _plans[type(model)] = _plan(type(model))
    if plan is None:
        raise _UncountedError
    count, fields = plan
    given = model.__pydantic_fields_set__
    count += len(given)
    for name, kind in fields:
        value = getattr(model, name)
        if kind == _STRS:
            count += len(value)
        elif kind == _MODELS:
            for item in value:
                count += _strings(item)
        elif kind == _MODEL:
            if value is not None:
                count += _strings(value)
        elif name in given and value is not None:  # a string that may be absent or null
            count += 1
    return count


def _plan(model: type[BaseModel]) -> _Plan | None:
    always = 0
    fields: list[tuple[str, int]] = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        if kind is None:
            return None
        if kind == _STR and info.is_required():
            always += 1
        elif kind != _NONE:
            fields.append((name, kind))
    return always, tuple(fields)


def _kind(annotation: Any) -> int | None:
    """What a field of this type holds; None when this module cannot tell."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if annotation in _STRING_TYPES:
        return _STR
    if annotation in _OTHER_SCALARS:
        return _NONE
    if origin is Literal:
        kinds = {_STR if isinstance(value, str) else _NONE for value in get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _MODEL
    if origin is list:
        item = _kind(get_args(annotation)[0])
        return {_STR: _STRS, _MODEL: _MODELS, _NONE: _NONE}.get(item) if item is not None else None
    if origin in (Union, types.UnionType):
        members: set[int] = set()
        for member in get_args(annotation):
            kind = _kind(member)
            if kind is None:
                return None
            members.add(kind)
        return _UNIONS.get(frozenset(members))
    return None


_UNIONS = {
    frozenset({_NONE}): _NONE,
    frozenset({_STR}): _MAYBE_STR,
    frozenset({_STR, _NONE}): _MAYBE_STR,
    frozenset({_MODEL, _NONE}): _MODEL,
}


def _required_strings(model: type[BaseModel]) -> int:
    plan = _plan(model)
    assert plan is not None, model
    return plan[0]


_FACT_EVENTS = frozenset({CaseRecorded, CaseUpdated})
# What every valid case.recorded and case.updated has: the envelope's keys (all required) and
# string values, the payload's required strings, and the force assessment's two keys.
_FACTS_FIXED = (
    len(CaseRecorded.model_fields)
    + _required_strings(CaseRecorded)
    + _required_strings(CaseFactsPayload)
    + len(ForceAssessment.model_fields)
)
_ALLEGATION_FIXED = _required_strings(Allegation)  # allegation_id and category


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as read, repeated keys and all."""


def _first_repeat(node: Any) -> list[str | int] | None:
    """The path to the first repeated key, shallowest first."""
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, _ in node:
            if key in seen:
                return [key]
            seen.add(key)
        children: list[tuple[str | int, Any]] = list(node)
    elif isinstance(node, list):
        children = list(enumerate(node))
    else:
        return None
    for step, child in children:
        below = _first_repeat(child)
        if below is not None:
            return [step, *below]
    return None
