"""Text from files reaches a terminal escaped: an escape sequence is shown, never obeyed."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

import pytest
from refmon.streams.engine import Engine
from refmon.streams.engine.explain import Explanation
from refmon.streams.rulesets import load_ruleset

from refmon import summary
from refmon.commands import explain as explain_command
from refmon.commands import rules as rules_command
from refmon.terminal import safe, safe_lines
from tests.cli import run_cli

HOSTILE = "x\x1b[2J\x1b]0;pwned\x07\nflagged: none\u202e\x9b"


def test_safe_escapes_every_control_character_and_keeps_printable_text() -> None:
    assert safe("DUR/c0070000042 é") == "DUR/c0070000042 é"
    assert safe(HOSTILE) == "x\\x1b[2J\\x1b]0;pwned\\x07\\nflagged: none\\u202e\\x9b"
    assert safe_lines(["a\x07", "b\nc"]) == "a\\x07\nb\\nc"


def _clean(text: str) -> None:
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "\nflagged: none" not in text


def test_runs_summary_prints_a_hostile_ruleset_id_escaped() -> None:
    ruleset = dataclasses.replace(load_ruleset(), id=HOSTILE)
    text = summary.render(Engine(ruleset, ["DUR"]).report(365), 0)
    assert "\x1b" not in text
    assert text.count("\nflagged:") == 1


def test_explains_text_prints_hostile_labels_and_ids_escaped() -> None:
    story = Explanation("DUR", "c1", HOSTILE, None)
    _clean(explain_command.as_text(story, ZoneInfo("Europe/London"), {}))


def test_rules_prints_a_rulesets_words_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = load_ruleset()
    criteria = tuple(dataclasses.replace(c, explanation=HOSTILE) for c in shipped.criteria)
    hostile = dataclasses.replace(shipped, title=HOSTILE, criteria=criteria)
    monkeypatch.setattr(rules_command, "load_ruleset", lambda _id: hostile)
    listed = run_cli(["rules", "list"])
    explained = run_cli(["rules", "explain", "dsi"])
    assert listed.status == explained.status == 0
    _clean(listed.stdout)
    _clean(explained.stdout)
    assert "\\x1b[2J" in explained.stdout
