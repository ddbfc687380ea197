"""A worker stopped for good hands its partitions over at once (streams/worker/leave.py)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from refmon.streams.kafka.topics import Topics

from tests.kafka.conftest import Deployment

SESSION_TIMEOUT_S = 60
TAKEOVER_BOUND_S = 30
"""Half the session timeout: a stopped static member that did not leave is still in its
group (holding its partitions) for a whole session timeout after its last heartbeat, at
least 48 s here (60 s less a 12 s heartbeat interval). Only a LeaveGroup can hand its
partitions over inside this bound."""


def members(admin: KafkaAdminClient, group: str) -> tuple[str, list[str]]:
    description: dict[str, Any] = admin.describe_groups([group])[group]
    ids = sorted(str(m["group_instance_id"]) for m in description["members"])
    return str(description["group_state"]), ids


def wait_for(admin: KafkaAdminClient, group: str, wanted: int, within_s: float) -> list[str]:
    deadline = time.monotonic() + within_s
    seen: tuple[str, list[str]] = ("", [])
    while time.monotonic() < deadline:
        try:
            seen = members(admin, group)
        except KafkaError:  # the group's coordinator is not there yet
            seen = ("", [])
        if seen[0] == "Stable" and len(seen[1]) == wanted:
            return seen[1]
        time.sleep(0.5)
    raise AssertionError(f"{group}: wanted {wanted} stable member(s), saw {seen}")


def test_a_worker_stopped_with_sigterm_leaves_its_groups_at_once(
    deployment: Deployment,
) -> None:
    topics = Topics(deployment.prefix)
    timeout = ("--clock", "event", "--session-timeout", str(SESSION_TIMEOUT_S))
    leaving = deployment.start_worker("w1", *timeout)
    deployment.start_worker("w2", *timeout)
    admin = KafkaAdminClient(bootstrap_servers=deployment.broker.bootstrap)
    try:
        groups = (topics.app_id, topics.intake_group)
        before = {g: wait_for(admin, g, 2, 120) for g in groups}
        os.killpg(leaving.pid, signal.SIGTERM)
        assert leaving.wait(timeout=30) == 0
        for group in groups:
            left = wait_for(admin, group, 1, TAKEOVER_BOUND_S)
            assert left[0] in before[group]
            assert left[0].startswith("refmon-")
        log = (deployment.folder / "w1.log").read_text()
        assert "left the consumer groups" in log
    finally:
        admin.close()
