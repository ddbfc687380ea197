"""A worker's health tells the truth: ready means connected, restored and progressing; the
endpoint serves it on /healthz and /readyz and as gauges; `refmon healthcheck` exits 1 with
the reason when it is not ready (issue 21)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry, generate_latest
from refmon.streams.worker.health import CONTACT_S, LIVE_S, HealthState
from refmon.streams.worker.health_probe import HealthProbe
from refmon.streams.worker.statistics import HealthCollector

from refmon.serve import start_metrics
from tests.cli import run_cli

GUARD_S = 30.0
"""Only a guard against a hung test, never a measure of speed."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _state() -> tuple[HealthState, FakeClock]:
    clock = FakeClock()
    return HealthState(clock), clock


def test_a_worker_that_never_reached_a_broker_is_live_but_not_ready() -> None:
    state, _ = _state()
    verdict = state.verdict()
    assert verdict.live
    assert not verdict.ready
    assert not verdict.connected
    assert verdict.reasons == ("no answer from the Kafka brokers yet",)


def test_ready_while_the_broker_answered_recently_and_not_once_it_is_silent_too_long() -> None:
    state, clock = _state()
    state.contacted()
    clock.now += CONTACT_S
    state.beat()
    assert state.verdict().ready
    clock.now += 1
    verdict = state.verdict()
    assert not verdict.ready
    assert verdict.live  # losing the broker is no reason to restart the process
    assert verdict.reasons == (f"no answer from the Kafka brokers for {CONTACT_S + 1:.0f} s",)
    assert verdict.contact_age_s == CONTACT_S + 1


def test_restoring_or_stalled_partitions_make_a_connected_worker_not_ready() -> None:
    state, _ = _state()
    state.contacted()
    state.partitions(restoring=["p.by-force[2]"], stalled=["p.in.DUR[0]"])
    verdict = state.verdict()
    assert verdict.connected
    assert not verdict.ready
    assert verdict.reasons == ("restoring p.by-force[2]", "stalled p.in.DUR[0]")
    state.partitions(restoring=[], stalled=[])
    assert state.verdict().ready


def test_a_loop_that_stopped_beating_is_not_live() -> None:
    state, clock = _state()
    state.contacted()
    clock.now += LIVE_S + 1
    verdict = state.verdict()
    assert not verdict.live
    assert not verdict.ready
    assert verdict.reasons[0] == f"the worker's loop has not run for {LIVE_S + 1:.0f} s"


def test_the_gauges_follow_the_verdict_at_each_scrape() -> None:
    state, clock = _state()
    registry = CollectorRegistry()
    registry.register(HealthCollector(state))
    text = generate_latest(registry).decode()
    assert "refmon_kafka_connected 0.0" in text
    assert "refmon_worker_ready 0.0" in text
    assert "refmon_kafka_last_contact_seconds" not in text  # never contacted: no made-up age
    state.contacted()
    clock.now += 4
    text = generate_latest(registry).decode()
    assert "refmon_kafka_connected 1.0" in text
    assert "refmon_worker_ready 1.0" in text
    assert "refmon_kafka_last_contact_seconds 4.0" in text
    clock.now += 60  # no refresh by the worker: the age grows by itself
    text = generate_latest(registry).decode()
    assert "refmon_kafka_connected 0.0" in text
    assert "refmon_kafka_last_contact_seconds 64.0" in text


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=GUARD_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_endpoint_serves_healthz_and_readyz_with_the_reason_and_healthcheck_exits_on_it() -> (
    None
):
    state, _ = _state()
    _, metrics_url = start_metrics(0, health=lambda: state.verdict().to_json())
    base = metrics_url.removesuffix("/metrics")
    status, body = _get(base + "/readyz")
    assert status == 503
    assert body["reasons"] == ["no answer from the Kafka brokers yet"]
    assert _get(base + "/healthz")[0] == 200
    failed = run_cli(["healthcheck", "--url", base + "/readyz"])
    assert failed.status == 1
    assert "status 503: no answer from the Kafka brokers yet" in failed.stderr
    assert run_cli(["healthcheck", "--url", base + "/healthz"]).status == 0
    state.contacted()
    assert _get(base + "/readyz") == (200, {**state.verdict().to_json()})
    assert run_cli(["healthcheck", "--url", base + "/readyz"]).status == 0


def test_a_process_without_health_of_its_own_is_ready_while_it_serves() -> None:
    _, metrics_url = start_metrics(0)
    base = metrics_url.removesuffix("/metrics")
    assert _get(base + "/readyz") == (200, {"live": True, "ready": True})
    assert _get(base + "/healthz")[0] == 200


def test_healthcheck_asks_for_readiness_by_default_and_liveness_with_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _ = _state()
    _, metrics_url = start_metrics(0, health=lambda: state.verdict().to_json())
    port = metrics_url.rsplit(":", 1)[1].removesuffix("/metrics")
    monkeypatch.setenv("REFMON_METRICS_PORT", port)
    monkeypatch.delenv("REFMON_METRICS_ADDRESS", raising=False)
    assert run_cli(["healthcheck"]).status == 1
    assert run_cli(["healthcheck", "--ready"]).status == 1
    assert run_cli(["healthcheck", "--live"]).status == 0


class _Stalls:
    def __init__(self, stalled: set[TopicPartition]) -> None:
        self._stalled = stalled

    def stalled(self) -> set[TopicPartition]:
        return self._stalled


class _Consumer:
    def __init__(self) -> None:
        self.broker_up = True

    async def topics(self) -> set[str]:
        if not self.broker_up:
            raise KafkaConnectionError("no broker")
        return {"p.by-force"}


class _Loop:
    def __init__(self, consumer: _Consumer | None, restoring: set[TopicPartition]) -> None:
        self.consumer = consumer
        self.restoring = dict.fromkeys(restoring)
        self.stalls = _Stalls(set())


def test_the_probe_counts_a_broker_answer_as_contact_and_a_failure_as_none() -> None:
    state, clock = _state()
    consumer = _Consumer()
    judging = _Loop(consumer, {TopicPartition("p.by-force", 1)})
    intake = _Loop(None, set())
    intake.stalls = _Stalls({TopicPartition("p.in.DUR", 0)})
    probe = HealthProbe(state, cast(Any, (intake, judging)), contact=cast(Any, judging))

    async def one_round() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(probe.run(), timeout=0.2)  # one probe, then its sleep

    asyncio.run(one_round())
    verdict = state.verdict()
    assert verdict.connected
    assert verdict.reasons == ("restoring p.by-force[1]", "stalled p.in.DUR[0]")

    consumer.broker_up = False
    clock.now += CONTACT_S + 1
    asyncio.run(one_round())
    assert not state.verdict().connected

    judging.consumer = None  # between sessions: nobody to ask
    consumer.broker_up = True
    asyncio.run(one_round())
    assert not state.verdict().connected
