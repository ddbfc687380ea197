"""SASL_SSL with SCRAM and ACLs: a force reaches its own topics only; the worker
reads and writes its own and can neither create nor delete topics; the admin
creates topics but reads no data; strangers get nothing."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError
from refmon.schemas import load_forces
from refmon.streams.kafka.acls import ADMIN_USER, WORKER_USER, Grant, apply, plan
from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli
from tests.factories import recorded
from tests.kafka.conftest import Broker, Deployment


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
    # ACLs reach the authorizer through the metadata log: wait until the broker's
    # authorizer holds every one of them, so that a denial below is the plan's.
    wanted = {
        (f"User:{g.user}", g.resource, g.name, g.pattern, g.operation)
        for g in plan(Topics(deployment.prefix), (f.code for f in load_forces()))
    }
    wait_until(lambda: wanted <= acls_in_force(deployment), "the ACLs to reach the authorizer")
    # And that they bite, as a force's client sees them.
    deadline = time.monotonic() + 30
    while True:
        try:
            send(sasl(deployment, "force-DUR"), Topics(deployment.prefix).input("DUR"))
            return deployment
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def acls_in_force(deployment: Deployment) -> set[tuple[str, str, str, str, str]]:
    """Every ACL the broker's authorizer holds, as (principal, resource, name, pattern, op)."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    everything = ACLFilter(
        principal=None,
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    admin = superuser(deployment)
    try:
        found, error = admin.describe_acls(everything)
    finally:
        admin.close()
    assert error.errno == 0, error
    return {
        (
            a.principal,
            a.resource_pattern.resource_type.name.lower(),
            a.resource_pattern.resource_name,
            a.resource_pattern.pattern_type.name.lower(),
            a.operation.name.lower(),
        )
        for a in found
    }


def superuser(deployment: Deployment) -> Any:
    """The broker's own super user, over the loopback PLAINTEXT listener."""
    return KafkaAdminClient(bootstrap_servers=deployment.broker.bootstrap)


def topic_names(deployment: Deployment) -> set[str]:
    admin = superuser(deployment)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def make_topic(deployment: Deployment, name: str) -> None:
    admin = superuser(deployment)
    try:
        admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        admin.close()


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


def test_the_worker_cannot_delete_an_input_topic(secured: Deployment) -> None:
    """Inputs keep 400 days for replays; a compromised worker must not wipe them."""
    topic = Topics(secured.prefix).input("DUR")
    worker = KafkaAdminClient(**sasl(secured, WORKER_USER))
    try:
        with pytest.raises(KafkaError):
            worker.delete_topics([topic])
    finally:
        worker.close()
    assert topic in topic_names(secured)


def test_the_worker_cannot_create_or_delete_topics(secured: Deployment) -> None:
    names = Topics(secured.prefix)
    worker = KafkaAdminClient(**sasl(secured, WORKER_USER))
    try:
        for new in (f"{secured.prefix}.new", f"{secured.prefix}-new"):
            with pytest.raises(KafkaError):
                worker.create_topics([NewTopic(new, 1, 1)])
        # Not even its own topics, which it reads and writes.
        for own in (names.findings, names.cases_changelog, names.alerts("DUR")):
            with pytest.raises(KafkaError):
                worker.delete_topics([own])
    finally:
        worker.close()
    existing = topic_names(secured)
    assert f"{secured.prefix}.new" not in existing
    assert f"{secured.prefix}-new" not in existing
    assert {names.findings, names.cases_changelog, names.alerts("DUR")} <= existing


def test_the_worker_cannot_reach_another_deployments_topics(secured: Deployment) -> None:
    """`refmon` must not reach `refmon-staging`: the prefix is not a boundary."""
    other = Topics(f"{secured.prefix}-staging")
    for topic in (other.input("DUR"), other.findings):
        make_topic(secured, topic)
        plant(secured, topic)
        assert read(sasl(secured, WORKER_USER), topic) == [], topic
        with pytest.raises(KafkaError):
            send(sasl(secured, WORKER_USER), topic)


def test_the_worker_reads_its_inputs_and_writes_its_own_topics(secured: Deployment) -> None:
    names = Topics(secured.prefix)
    planted = plant(secured, names.input("MPS"))
    assert read(sasl(secured, WORKER_USER), names.input("MPS")) == [planted]
    send(sasl(secured, WORKER_USER), names.alerts("MPS"))
    send(sasl(secured, WORKER_USER), names.dead_letter)
    with pytest.raises(KafkaError):  # inputs are the forces' to write
        send(sasl(secured, WORKER_USER), names.input("MPS"))


def test_the_admin_creates_topics_and_reads_no_data(secured: Deployment, tmp_path: Path) -> None:
    names = Topics(secured.prefix)
    admin = KafkaAdminClient(**sasl(secured, ADMIN_USER))
    try:
        admin.delete_topics([names.alerts("DUR")])
        with pytest.raises(KafkaError):  # nothing outside refmon's own topics
            admin.create_topics([NewTopic(f"{secured.prefix}-staging.in.DUR", 1, 1)])
    finally:
        admin.close()
    deadline = time.monotonic() + 30
    while names.alerts("DUR") in topic_names(secured):
        assert time.monotonic() < deadline, "the deleted topic is still listed"
        time.sleep(0.5)
    password = tmp_path / "admin.password"
    password.write_text(f"{ADMIN_USER}-secret\n")
    result = run_cli(
        [
            "topics",
            "create",
            "--bootstrap-server",
            secured.broker.sasl_bootstrap,
            "--topic-prefix",
            secured.prefix,
            "--partitions",
            str(secured.partitions),
            "--security-protocol",
            "SASL_SSL",
            "--username",
            ADMIN_USER,
            "--password-file",
            str(password),
            "--ca-file",
            secured.broker.ca_file,
        ]
    )
    assert result.status == 0, result.stderr
    assert "created 1 topic(s)" in result.stderr
    assert names.alerts("DUR") in topic_names(secured)
    plant(secured, names.input("DUR"))
    assert read(sasl(secured, ADMIN_USER), names.input("DUR")) == []
    with pytest.raises(KafkaError):
        send(sasl(secured, ADMIN_USER), names.input("DUR"))


def test_topics_acl_finds_and_prunes_an_earlier_releases_broad_grant(secured: Deployment) -> None:
    """Upgrading adds the narrow grants; the old ALL stays in force until pruned."""
    names = Topics(secured.prefix)
    legacy = Grant(WORKER_USER, "topic", secured.prefix, "prefixed", "all")
    key = (f"User:{WORKER_USER}", "topic", secured.prefix, "prefixed", "all")
    admin = superuser(secured)
    try:
        assert apply(admin, [legacy]) == []
    finally:
        admin.close()
    wait_until(lambda: key in acls_in_force(secured), "the legacy grant to arrive")
    result = run_cli(["topics", "acl", *secured.args()])
    assert result.status == 1
    assert f"stale ACL still in force: User:{WORKER_USER} all on topic" in result.stderr
    result = run_cli(["topics", "acl", "--prune", *secured.args()])
    assert result.status == 0, result.stderr
    assert "deleted 1 stale ACL(s)" in result.stderr
    wait_until(lambda: key not in acls_in_force(secured), "the legacy grant to go")
    worker = KafkaAdminClient(**sasl(secured, WORKER_USER))
    try:
        with pytest.raises(KafkaError):
            worker.delete_topics([names.input("DUR")])
    finally:
        worker.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_the_local_brokers_state_directory_is_private(broker: Broker) -> None:
    """It holds the CA's key: another local user must not read or replace it."""
    state = Path(broker.ca_file).parents[1]
    for path in (state, state / "tls"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE((state / "tls" / "ca.key").stat().st_mode) & 0o077 == 0


def client_args(secured: Deployment, tmp_path: Path, user: str) -> list[str]:
    """A CLI's options to reach the broker as `user` over SASL_SSL."""
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


def test_publish_with_one_forces_credentials_dead_letters_other_forces_lines_and_goes_on(
    secured: Deployment, tmp_path: Path
) -> None:
    events = [
        recorded("2026-02-02T10:00:00Z", case="d1"),
        recorded("2026-02-02T10:00:00Z", case="m1", force="MPS"),
        recorded("2026-02-02T11:00:00Z", case="d2"),
        recorded("2026-02-02T11:00:00Z", case="m2", force="MPS"),
        recorded("2026-02-02T12:00:00Z", case="d3"),
    ]
    stream, dead = tmp_path / "mixed.jsonl", tmp_path / "dead.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    args = ["--input", str(stream), "--dead-letter", str(dead), "-q"]
    result = run_cli(["publish", *args, *client_args(secured, tmp_path, "force-DUR")])
    assert result.status == 1, result.stderr
    assert "published 3 event(s)" in result.stderr
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [d["line"] for d in letters] == [2, 4]
    assert {d["reason"] for d in letters} == {"not_authorized"}
    assert Topics(secured.prefix).input("MPS") in letters[0]["message"]
    # The fixture's own probe (`{}`) is in the topic too.
    sent = [json.loads(v).get("case_id") for v in everything_in(secured, "DUR", wanted=4)]
    assert sorted(c for c in sent if c is not None) == ["d1", "d2", "d3"]


def everything_in(deployment: Deployment, force: str, wanted: int = 3) -> list[bytes]:
    """Every record of the force's input topic, read by the broker's own super user."""
    topic = Topics(deployment.prefix).input(force)
    consumer = KafkaConsumer(bootstrap_servers=deployment.broker.bootstrap)
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(deployment.partitions)])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + 30  # a guard against a hang, not a measure
        while time.monotonic() < deadline and len(values) < wanted:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
    finally:
        consumer.close()
    return values


def test_publish_and_worker_run_over_sasl_ssl_with_their_own_principals(
    secured: Deployment, tmp_path: Path
) -> None:
    def credentials(user: str) -> list[str]:
        return client_args(secured, tmp_path, user)

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
                *credentials(WORKER_USER),
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
        result = run_cli(["report", *credentials(WORKER_USER)])
        report = json.loads(result.stdout) if result.status == 0 else {}
        if report.get("events", {}).get("valid") == 1:
            break
        time.sleep(1)
    assert report.get("events", {}).get("valid") == 1, (tmp_path / "w.log").read_text()[-2000:]
