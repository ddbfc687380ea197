"""A worker's partition count comes from its topics, and a count given that differs from
theirs refuses to start with one line (issue 21: REFMON_PARTITIONS=3 against topics with 6
partitions started a worker with no warning)."""

from __future__ import annotations

import json

import pytest
from refmon.streams.worker.startup import StartupError, partition_count
from refmon.streams.worker.statistics import CLOCK_KEY, clock_message, workers_clock

TOPICS = ("p.by-force", "p-cases-changelog", "p.findings")


def test_left_out_the_count_is_read_from_the_topics() -> None:
    assert partition_count(None, dict.fromkeys(TOPICS, 6)) == 6


def test_a_count_that_matches_the_topics_is_kept() -> None:
    assert partition_count(6, dict.fromkeys(TOPICS, 6)) == 6


def test_a_count_that_differs_from_the_topics_is_refused_naming_both() -> None:
    with pytest.raises(StartupError) as refused:
        partition_count(3, dict.fromkeys(TOPICS, 6))
    message = str(refused.value)
    assert "--partitions 3 (or REFMON_PARTITIONS)" in message
    assert "which have 6 partitions" in message
    assert "\n" not in message


def test_missing_topics_name_refmon_topics_create() -> None:
    with pytest.raises(StartupError, match=r"p\.findings do not exist: .*refmon topics create"):
        partition_count(None, {**dict.fromkeys(TOPICS, 6), "p.findings": None})


def test_topics_that_disagree_among_themselves_are_refused() -> None:
    with pytest.raises(StartupError, match="disagree on their partition count"):
        partition_count(None, {**dict.fromkeys(TOPICS, 6), "p.findings": 3})


def test_the_workers_clock_record_is_read_back_and_no_record_is_none() -> None:
    message = clock_message("t", 1_700_000_000_000_000)
    assert json.loads(message.key) == CLOCK_KEY
    records = {message.key: message.value, b'"DUR"': b"{}"}
    assert workers_clock(records) == 1_700_000_000_000_000
    assert workers_clock({b'"DUR"': b"{}"}) is None
