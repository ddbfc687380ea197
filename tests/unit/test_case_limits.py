"""What one case may hold is bounded: facts beyond it are dead letters, never memory.

A case holds at most MAX_FACT_VERSIONS `case.recorded`/`case.updated` events and
MAX_LINKED_IDS distinct linked case ids over all of them (streams/engine/links.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refmon.streams.engine.links import MAX_FACT_VERSIONS, MAX_LINKED_IDS, LinkIndex

from tests.cli import run_cli
from tests.factories import recorded, updated


def _at(minute: int) -> str:
    return f"2026-01-05T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"


def _linking(rounds: int, fresh: bool = True) -> list[dict[str, Any]]:
    """A case recorded, then updated `rounds` times, each naming 100 (new) linked ids."""
    events = [recorded(_at(0), case="hub")]
    for r in range(1, rounds + 1):
        ids = [f"r{r if fresh else 0}-{k}" for k in range(100)]
        events.append(updated(_at(r), case="hub", linked=ids))
    return events


def _run(tmp_path: Path, events: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    stream, dead = tmp_path / "events.jsonl", tmp_path / "dead.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    args = ["run", "--input", str(stream), "--dead-letter", str(dead), "-q"]
    result = run_cli(args)
    assert result.status == 0, result.stderr
    return json.loads(result.stdout), [json.loads(x) for x in dead.read_text().splitlines()]


def test_linked_ids_beyond_the_case_bound_are_dead_letters_with_a_reason(tmp_path: Path) -> None:
    rounds = MAX_LINKED_IDS // 100
    report, dead = _run(tmp_path, _linking(rounds + 2))
    assert report["events"]["valid"] == rounds + 1
    assert report["events"]["invalid"] == 2
    assert [d["reason"] for d in dead] == ["case_limit_exceeded"] * 2
    assert [d["line"] for d in dead] == [rounds + 2, rounds + 3]
    assert "1,000 distinct linked_case_ids" in dead[0]["message"]


def test_links_a_case_repeats_count_once(tmp_path: Path) -> None:
    report, dead = _run(tmp_path, _linking(3 * MAX_LINKED_IDS // 100, fresh=False))
    assert dead == []
    assert report["events"]["invalid"] == 0


def test_within_the_bound_the_order_of_arrival_changes_nothing(tmp_path: Path) -> None:
    events = _linking(MAX_LINKED_IDS // 100)
    forward, _ = _run(tmp_path, events)
    backward, dead = _run(tmp_path, events[::-1])
    assert dead == []
    assert forward == backward


def test_fact_versions_beyond_the_case_bound_are_dead_letters(tmp_path: Path) -> None:
    events = [recorded("2026-01-05T10:00:00Z", case="busy")]
    events += [
        updated(f"2026-01-{6 + k // 86_400 % 20:02d}T00:00:{k % 60:02d}Z", case="busy")
        for k in range(MAX_FACT_VERSIONS)
    ]
    report, dead = _run(tmp_path, events)
    assert report["events"]["valid"] == MAX_FACT_VERSIONS
    assert [(d["reason"], d["line"]) for d in dead] == [
        ("case_limit_exceeded", MAX_FACT_VERSIONS + 1)
    ]


def test_the_link_index_names_each_source_once_and_forgets_a_retired_one() -> None:
    index = LinkIndex()
    index.add("a", "x")
    index.add("a", "x")
    index.add("b", "x")
    index.add("a", "y")
    assert index.sources("x") == ["a", "b"]
    assert index.new_targets("a", ("x", "y", "z")) == 1
    index.drop_source("a", ("x", "y"))
    assert index.sources("x") == ["b"]
    assert index.sources("y") == []
    index.drop_target("x")
    assert len(index) == 0


def test_explain_says_which_facts_were_beyond_the_bound(tmp_path: Path) -> None:
    rounds = MAX_LINKED_IDS // 100
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in _linking(rounds + 1)))
    result = run_cli(["explain", "--input", str(stream), "--case", "DUR/hub"])
    assert result.status == 0, result.stderr
    assert result.stdout.count("rejected (case_limit_exceeded)") == 1
