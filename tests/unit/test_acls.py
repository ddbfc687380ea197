"""The ACL plan, without Kafka: least privilege per principal, no reach across deployments."""

from __future__ import annotations

import pytest
from refmon.schemas import load_forces
from refmon.streams.kafka.acls import (
    ADMIN_USER,
    WORKER_USER,
    Grant,
    Principals,
    plan,
    stale,
)
from refmon.streams.kafka.topics import Topics

from tests.cli import run_cli

FORCES = [f.code for f in load_forces()]


def matches(grant: Grant, resource: str, name: str) -> bool:
    if grant.resource != resource:
        return False
    if grant.pattern == "prefixed":
        return name.startswith(grant.name)
    return name == grant.name


def of(user: str, grants: list[Grant]) -> list[Grant]:
    return [g for g in grants if g.user == user]


def resources_of(topics: Topics) -> list[tuple[str, str]]:
    """Every topic and group name a deployment with these topics uses."""
    names = [("topic", s.name) for s in topics.specs(FORCES)]
    names += [("group", g.name) for g in plan(topics, FORCES) if g.resource == "group"]
    return names


def test_the_worker_gets_exactly_what_it_reads_writes_and_joins() -> None:
    topics = Topics("refmon")
    access = topics.worker_access(FORCES)
    grants = of(WORKER_USER, plan(topics, FORCES))
    worker = {(g.resource, g.name, g.pattern, g.operation) for g in grants}
    expected = {("topic", t, "literal", "read") for t in access.reads}
    expected |= {("topic", t, "literal", "write") for t in access.writes}
    expected |= {("topic", t, "literal", "create") for t in access.creates}
    expected |= {("group", g, "literal", "read") for g in access.groups}
    expected |= {("cluster", "kafka-cluster", "literal", "idempotent_write")}
    # Its transactional ids, one per input partition, under a prefix no other deployment has.
    expected |= {("transactional_id", "refmon.tx.", "prefixed", op) for op in ("write", "describe")}
    assert worker == expected


def test_the_worker_can_neither_delete_nor_alter_anything_nor_write_an_input() -> None:
    topics = Topics("refmon")
    worker = of(WORKER_USER, plan(topics, FORCES))
    assert not [g for g in worker if g.operation in ("delete", "alter", "all")]
    inputs = {topics.input(c) for c in [*FORCES, "watchdog"]}
    assert inputs <= {g.name for g in worker if g.operation == "read"}
    assert not [g for g in worker if g.name in inputs and g.operation != "read"]


def test_every_topic_the_worker_uses_is_made_by_topics_create() -> None:
    """So the worker needs no right to create a topic at all."""
    topics = Topics("refmon")
    access = topics.worker_access(FORCES)
    made = {s.name for s in topics.specs(FORCES)}
    assert set(access.reads) | set(access.writes) <= made
    assert access.creates == ()


def test_the_admin_creates_and_deletes_refmon_topics_and_reads_no_data() -> None:
    topics = Topics("refmon")
    admin = of(ADMIN_USER, plan(topics, FORCES))
    made = {s.name for s in topics.specs(FORCES)}
    for operation in ("create", "delete", "describe"):
        assert {g.name for g in admin if g.operation == operation} == made
    assert {g.operation for g in admin} == {"create", "delete", "describe"}
    assert {(g.resource, g.pattern) for g in admin} == {("topic", "literal")}


@pytest.mark.parametrize("other", ["refmon-staging", "refmon-force", "refmon-in"])
def test_no_grant_reaches_another_deployment_whose_prefix_shares_the_start(other: str) -> None:
    """`refmon` and `refmon-staging` may share a cluster: neither reaches the other."""
    ours = plan(Topics("refmon"), FORCES)
    theirs = resources_of(Topics(other))
    reaching = [(g, name) for g in ours for resource, name in theirs if matches(g, resource, name)]
    assert reaching == []


def test_every_prefixed_grant_ends_in_a_delimiter_and_stays_with_its_force() -> None:
    topics = Topics("refmon")
    grants = plan(topics, FORCES)
    prefixed = [g for g in grants if g.pattern == "prefixed"]
    assert prefixed  # the forces' consumer groups
    for grant in prefixed:
        assert grant.name.endswith(("-", ".")), grant
        assert grant.name != topics.prefix
    groups = [(g.user, g.name) for g in grants if g.resource == "group" and g.pattern == "literal"]
    for grant in prefixed:
        others = [name for user, name in groups if user != grant.user]
        assert not [name for name in others if matches(grant, "group", name)], grant


def test_principal_names_come_from_the_caller() -> None:
    principals = Principals(
        worker="stg-worker", admin="stg-admin", watchdog="stg-iopc", force_format="stg-{code}"
    )
    users = {g.user for g in plan(Topics("refmon"), FORCES, principals)}
    assert users == {"stg-worker", "stg-admin", "stg-iopc", *(f"stg-{c}" for c in FORCES)}


@pytest.mark.parametrize(
    ("principals", "message"),
    [
        (Principals(worker="same", admin="same"), "both 'same'"),
        (Principals(watchdog="refmon-worker"), "both 'refmon-worker'"),
        (Principals(force_format="refmon-admin"), "{code}"),
        (Principals(worker="*"), "worker principal '*'"),
        (Principals(admin=""), "admin principal ''"),
        (Principals(force_format="force-{code}-{x}"), "{code}"),
    ],
)
def test_unusable_principal_names_are_refused(principals: Principals, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace("{", r"\{")):
        plan(Topics("refmon"), FORCES, principals)


def test_topics_acl_refuses_one_principal_for_two_roles_before_connecting() -> None:
    # Nothing listens on port 1: the refusal must come first, with exit status 2.
    result = run_cli(
        [
            "topics",
            "acl",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--worker-principal",
            "ops",
            "--admin-principal",
            "ops",
        ]
    )
    assert result.status == 2
    assert "admin and worker principals are both 'ops'" in result.stderr


def test_topics_acl_reads_principal_names_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFMON_KAFKA_WORKER_PRINCIPAL", "ops")
    monkeypatch.setenv("REFMON_KAFKA_ADMIN_PRINCIPAL", "ops")
    result = run_cli(["topics", "acl", "--bootstrap-server", "127.0.0.1:1"])
    assert result.status == 2
    assert "both 'ops'" in result.stderr


def earlier_release(topics: Topics) -> list[Grant]:
    """What `refmon topics acl` granted before the worker's rights were narrowed."""
    return [
        Grant(WORKER_USER, "topic", topics.prefix, "prefixed", "all"),
        Grant(WORKER_USER, "group", topics.prefix, "prefixed", "all"),
        Grant(WORKER_USER, "cluster", "kafka-cluster", "literal", "describe"),
        Grant("force-DUR", "group", f"{topics.prefix}-force-DUR", "prefixed", "read"),
    ]


def test_an_earlier_releases_broad_grants_are_found_stale() -> None:
    topics = Topics("refmon")
    grants = plan(topics, FORCES)
    found = stale([*grants, *earlier_release(topics)], grants, topics)
    assert found == sorted(
        [g for g in earlier_release(topics) if g.resource != "cluster"],
        key=lambda g: (g.user, g.resource, g.name, g.pattern, g.operation),
    )
    assert stale(grants, grants, topics) == []


def test_another_deployments_grants_are_never_stale_for_this_one() -> None:
    """Principals may be shared: pruning `refmon` must leave `refmon-staging` alone."""
    ours, theirs = Topics("refmon"), Topics("refmon-staging")
    grants = plan(ours, FORCES)
    elsewhere = [*plan(theirs, FORCES), *earlier_release(theirs)]
    assert stale([*grants, *elsewhere], grants, ours) == []
