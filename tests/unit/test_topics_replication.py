"""`refmon topics create` picks the replication factor from the cluster's size (issue 21)."""

from __future__ import annotations

import pytest

from refmon.commands.topics import replication_factor
from tests.cli import run_cli


@pytest.mark.parametrize(("brokers", "expected"), [(1, 1), (2, 2), (3, 3), (5, 3)])
def test_three_copies_or_every_broker_of_a_smaller_cluster(brokers: int, expected: int) -> None:
    assert replication_factor(None, brokers) == expected


def test_an_asked_for_replication_factor_wins() -> None:
    assert replication_factor(2, 5) == 2


def test_a_replication_factor_below_one_is_a_usage_error() -> None:
    result = run_cli(
        ["topics", "create", "--bootstrap-server", "127.0.0.1:1", "--replication-factor", "0"]
    )
    assert result.status == 2
    assert "--replication-factor must be at least 1" in result.stderr
