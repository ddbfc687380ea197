"""Peer groups from a CSV (docs/contract.md section 15), and the police regions as the default.

The file: an optional first line `# source: ..., date: ...`, then a header
`force,group`, then one force a line. Any fault is an error naming its line,
raised before anything is judged or written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from refmon.schemas import Force
from refmon.streams.engine.peers import PeerGroups

REGIONS_SOURCE = "police regions of England and Wales (refmon's forces.csv)"


class PeerGroupsError(ValueError):
    """A peer-groups file refmon cannot use; the message names the file and line."""


def regions(forces: Iterable[Force]) -> PeerGroups:
    """The default grouping: each force's police region."""
    return PeerGroups(
        {f.code: f.region for f in forces if f.region}, REGIONS_SOURCE, kind="regions"
    )


def parse_peer_groups(text: str, known: frozenset[str], name: str = "peer groups") -> PeerGroups:
    lines = text.splitlines()
    source: str | None = None
    first = 1
    if lines and lines[0].startswith("#"):
        source = lines[0][1:].strip()
        first = 2
    body = lines[first - 1 :]
    if not body or [c.strip() for c in body[0].split(",")] != ["force", "group"]:
        raise PeerGroupsError(f"{name}: line {first}: the header must be `force,group`")
    groups: dict[str, str] = {}
    for offset, row in enumerate(csv.reader(body[1:])):
        number = first + 1 + offset
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise PeerGroupsError(f"{name}: line {number}: expected 2 fields, got {len(row)}")
        force, group = row[0].strip(), row[1].strip()
        if force not in known:
            raise PeerGroupsError(f"{name}: line {number}: unknown force {force!r}")
        if not group:
            raise PeerGroupsError(f"{name}: line {number}: force {force} has an empty group")
        if force in groups:
            raise PeerGroupsError(f"{name}: line {number}: force {force} is listed twice")
        groups[force] = group
    return PeerGroups(groups, source, kind="peer_groups")


def read_peer_groups(path: Path, known: frozenset[str]) -> PeerGroups:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PeerGroupsError(f"{path}: cannot read peer groups: {error}") from error
    return parse_peer_groups(text, known, str(path))
