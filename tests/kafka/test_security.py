"""SASL_SSL with SCRAM and ACLs: a force reaches its own topics only; strangers get nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from refmon.streams.kafka.acls import plan
from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli
from tests.factories import recorded
from tests.kafka.conftest import Deployment


def sasl(deployment: Deployment, user: str, password: str | None = None) -> dict[str, Any]:
    return {
        "bootstrap_servers": deployment.broker.sasl_bootstrap,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password or f"{user}-secret",
        "ssl_cafile": deployment.broker.ca_file,
    }


@pytest.fixture
def secured(deployment: Deployment) -> Deployment:
    result = run_cli(["topics", "acl", *deployment.args()])
    assert result.status == 0, result.stderr
    # ACLs reach the authorizer through the metadata log: wait until they bite.
    deadline = time.monotonic() + 30
    while True:
        try:
            send(sasl(deployment, "force-DUR"), Topics(deployment.prefix).input("DUR"))
            return deployment
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def send(config: dict[str, Any], topic: str) -> None:
    producer = KafkaProducer(acks="all", max_block_ms=15000, request_timeout_ms=15000, **config)
    try:
        producer.send(topic, key=b"k", value=b"{}").get(timeout=20)
    finally:
        producer.close(timeout=5)


def read(config: dict[str, Any], topic: str) -> list[bytes]:
    """What this client can read of `topic`; an authorisation error counts as nothing."""
    consumer = KafkaConsumer(enable_auto_commit=False, request_timeout_ms=15000, **config)
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not values:
            for records in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in records]
    except KafkaError:
        return []
    finally:
        consumer.close()
    return values


def plant(deployment: Deployment, topic: str) -> bytes:
    """A record written by the broker's own super user (the loopback PLAINTEXT listener)."""
    value = f"alert for {topic}".encode()
    producer = KafkaProducer(bootstrap_servers=deployment.broker.bootstrap, acks="all")
    producer.send(topic, key=b"k", value=value).get(timeout=20)
    producer.close()
    return value


def test_the_acl_plan_gives_each_force_only_its_own_topics() -> None:
    grants = plan(Topics("p"), ["DUR", "MPS"])
    dur = {(g.resource, g.name, g.operation) for g in grants if g.user == "force-DUR"}
    assert ("topic", "p.in.DUR", "write") in dur
    assert ("topic", "p.alerts.DUR", "read") in dur
    assert not any("MPS" in name for _, name, _ in dur)


def test_a_force_writes_its_own_topic_and_reads_its_own_alerts(secured: Deployment) -> None:
    names = Topics(secured.prefix)
    send(sasl(secured, "force-DUR"), names.input("DUR"))
    planted = plant(secured, names.alerts("DUR"))
    assert read(sasl(secured, "force-DUR"), names.alerts("DUR")) == [planted]


def test_a_force_cannot_write_another_forces_topic(secured: Deployment) -> None:
    with pytest.raises(KafkaError):
        send(sasl(secured, "force-DUR"), Topics(secured.prefix).input("MPS"))


def test_a_force_cannot_read_another_forces_alerts(secured: Deployment) -> None:
    topic = Topics(secured.prefix).alerts("MPS")
    planted = plant(secured, topic)
    assert read(sasl(secured, "force-MPS"), topic) == [planted]  # the owner can
    assert read(sasl(secured, "force-DUR"), topic) == []


def test_a_force_cannot_write_the_watchdogs_topic(secured: Deployment) -> None:
    with pytest.raises(KafkaError):
        send(sasl(secured, "force-DUR"), Topics(secured.prefix).input("watchdog"))


def test_an_unauthenticated_client_gets_nothing(secured: Deployment) -> None:
    with pytest.raises(KafkaError):
        send(sasl(secured, "force-DUR", password="guess"), Topics(secured.prefix).input("DUR"))
    plaintext_to_tls = {"bootstrap_servers": secured.broker.sasl_bootstrap}
    with pytest.raises(KafkaError):
        send(plaintext_to_tls, Topics(secured.prefix).input("DUR"))


def test_publish_and_worker_run_over_sasl_ssl_with_their_own_principals(
    secured: Deployment, tmp_path: Path
) -> None:
    def credentials(user: str) -> list[str]:
        secret = tmp_path / f"{user}.password"
        secret.write_text(f"{user}-secret\n")
        return [
            "--bootstrap-server",
            secured.broker.sasl_bootstrap,
            "--topic-prefix",
            secured.prefix,
            "--security-protocol",
            "SASL_SSL",
            "--username",
            user,
            "--password-file",
            str(secret),
            "--ca-file",
            secured.broker.ca_file,
        ]

    stream = tmp_path / "dur.jsonl"
    stream.write_text(
        json.dumps(recorded("2026-02-02T10:00:00Z", categories=["serious_assault"])) + "\n"
    )
    result = run_cli(["publish", "--input", str(stream), "-q", *credentials("force-DUR")])
    assert result.status == 0, result.stderr
    mps = tmp_path / "mps.jsonl"
    mps.write_text(json.dumps(recorded("2026-02-02T10:00:00Z", force="MPS")) + "\n")
    assert run_cli(["publish", "--input", str(mps), "-q", *credentials("force-DUR")]).status == 1
    secured.workers.append(
        __import__("subprocess").Popen(
            [
                __import__("sys").executable,
                "-m",
                "refmon.cli",
                "worker",
                *credentials("refmon-worker"),
                "--partitions",
                str(secured.partitions),
                "--data-dir",
                str(tmp_path / "w"),
                "--clock",
                "event",
                "--store",
                "memory",
            ],
            stdout=(tmp_path / "w.log").open("wb"),
            stderr=__import__("subprocess").STDOUT,
            start_new_session=True,
        )
    )
    deadline = time.monotonic() + 120
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        result = run_cli(["report", *credentials("refmon-worker")])
        report = json.loads(result.stdout) if result.status == 0 else {}
        if report.get("events", {}).get("valid") == 1:
            break
        time.sleep(1)
    assert report.get("events", {}).get("valid") == 1, (tmp_path / "w.log").read_text()[-2000:]
