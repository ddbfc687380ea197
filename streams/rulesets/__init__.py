"""Ruleset files shipped with refmon, loaded by id."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from zoneinfo import ZoneInfo

from refmon.streams.engine.rules import Ruleset, RulesetError, parse_ruleset

DEFAULT_RULESET = "ew-2020.1"


def available() -> tuple[str, ...]:
    folder = files("refmon.streams.rulesets")
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def load_ruleset(ruleset_id: str = DEFAULT_RULESET) -> Ruleset:
    if ruleset_id not in available():
        raise RulesetError(f"unknown ruleset {ruleset_id!r} (have: {', '.join(available())})")
    text = files("refmon.streams.rulesets").joinpath(f"{ruleset_id}.toml").read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RulesetError(f"{ruleset_id}.toml: {err}") from None
    ruleset = parse_ruleset(data, ZoneInfo)
    if ruleset.id != ruleset_id:
        raise RulesetError(f"{ruleset_id}.toml declares id {ruleset.id!r}")
    return ruleset
