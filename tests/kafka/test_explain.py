"""`refmon explain` from the Kafka workers' case changelog tells the story the file does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli import run_cli
from tests.kafka.conftest import Deployment
from tests.unit.test_explain import STORY


def _without_sources(story: dict[str, Any]) -> dict[str, Any]:
    """Where each event came from differs by nature (a line, a topic offset)."""
    for step in story["steps"]:
        step.pop("from", None)
        step.pop("out_of_order_after", None)
    for finding in story["findings"]:
        for key in ("opened_by", "resolved_by"):
            if key in finding:
                finding[key] = finding[key].rsplit(" (", 1)[0]
    return story


def test_the_changelog_gives_the_same_timeline_as_the_input(
    deployment: Deployment, tmp_path: Path
) -> None:
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in STORY))
    deployment.start_worker("w1", "--clock", "event")
    deployment.publish(stream)
    deployment.wait_for(len(STORY), 0, stream=stream)
    from_file = run_cli(["explain", "--input", str(stream), "--case", "DUR/c1", "--json"])
    from_kafka = run_cli(["explain", *deployment.args(), "--case", "DUR/c1", "--json"])
    assert from_kafka.status == 0, from_kafka.stderr
    kafka_story = json.loads(from_kafka.stdout)
    assert kafka_story["steps"][0]["from"].startswith("DUR[")
    assert _without_sources(kafka_story) == _without_sources(json.loads(from_file.stdout))
    assert "secret-1" not in from_kafka.stdout
