"""Ruleset files shipped with refmon, loaded by id; and what-if rulesets, loaded from a path."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
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
        raise RulesetError(f"unknown ruleset {ruleset_id[:64]!r} (have: {', '.join(available())})")
    text = files("refmon.streams.rulesets").joinpath(f"{ruleset_id}.toml").read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RulesetError(f"{ruleset_id}.toml: {err}") from None
    ruleset = parse_ruleset(data, ZoneInfo)
    if ruleset.id != ruleset_id:
        raise RulesetError(f"{ruleset_id}.toml declares id {ruleset.id!r}")
    return ruleset


def _shipped_data(ruleset_id: str) -> dict[str, object]:
    text = files("refmon.streams.rulesets").joinpath(f"{ruleset_id}.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_ruleset_file(path: str) -> Ruleset:
    """A ruleset from a file of one's own (a what-if), validated as the shipped ones are.

    Errors are one line naming the file and the field. A file may not take the id
    of a shipped ruleset unless it says the same: findings name the ruleset that
    judged them, and that name must keep meaning one set of rules.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RulesetError(f"{path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RulesetError(f"{path}: not TOML: {err}") from None
    try:
        ruleset = parse_ruleset(data, ZoneInfo)
    except RulesetError as err:
        raise RulesetError(f"{path}: {err}") from None
    if ruleset.id in available() and data != _shipped_data(ruleset.id):
        raise RulesetError(
            f"{path}: id {ruleset.id!r} is a shipped ruleset's; give a changed ruleset an id "
            "of its own"
        )
    return ruleset
