"""A retired case folded: what a partition's changelog keeps of it once its deliveries are
gone, and the earliest record format (one case to a record, as an object), still read.
The archive (archive.py) keeps cases many to a record."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from refmon.streams.engine import Finding
from refmon.streams.engine.case import CaseState, DecisionRecord
from refmon.streams.engine.retirement import Retired
from refmon.streams.wire.delivery import Source

RETIRED_SUFFIX = b"@retired"


class Folded(NamedTuple):
    """A retired case, as its partition's changelog keeps it once its deliveries are gone."""

    retired: Retired
    ids: tuple[tuple[str, str], ...]
    """Its events' (scope, id): a late repeat is still a duplicate."""
    sources: tuple[tuple[str, int, int], ...]
    """Where each of its deliveries came from (name, partition, offset): what a judge has
    applied stays known. Plain tuples when read from an archive record: a restore reads
    hundreds of thousands, and only the highest offset per source partition is used."""
    valid: int
    duplicate: int

    @property
    def key(self) -> bytes:
        return f"{self.retired.force}/{self.retired.case_id}".encode() + RETIRED_SUFFIX


def review_fields(review: CaseState | None) -> list[Any] | None:
    if review is None:
        return None
    decision = None if review.decision is None else list(review.decision)
    return [
        review.recorded_at,
        review.claim_at,
        review.received_at,
        decision,
        review.duty_at,
        review.deadline_at,
    ]


def review_from(fields: list[Any] | None) -> CaseState | None:
    if fields is None:
        return None
    recorded, claim, received, decision, duty, deadline = fields
    return CaseState(
        recorded_at=recorded,
        claim_at=claim,
        received_at=received,
        decision=None if decision is None else DecisionRecord(*decision),
        duty_at=duty,
        deadline_at=deadline,
    )


def folded_body(folded: Folded) -> dict[str, Any]:
    retired = folded.retired
    return {
        "version": 2,
        "force": retired.force,
        "case_id": retired.case_id,
        "own_duty_at": retired.own_duty_at,
        "findings": [list(f) for f in retired.findings],
        # Format 2: what the review points and last year's window still count.
        "review": review_fields(retired.review),
        "decisions": [list(d) for d in retired.decisions],
        "first_at": retired.first_at,
        "ids": [list(i) for i in folded.ids],
        "sources": [list(s) for s in folded.sources],
        "valid": folded.valid,
        "duplicate": folded.duplicate,
    }


def folded_from(body: dict[str, Any]) -> Folded:
    # Every retired case is decoded on every restore (tens of thousands after a few
    # years): built with map and _make, no per-item generator or argument unpacking.
    if body.get("version") not in (1, 2):
        raise ValueError(
            f"retired-case format {body.get('version')!r} is not one this release reads"
        )
    findings = tuple(map(finding_from, body["findings"]))
    decisions = body.get("decisions")
    retired = Retired(
        body["force"],
        body["case_id"],
        body["own_duty_at"],
        findings,
        review_from(body.get("review")),
        tuple(map(DecisionRecord._make, decisions)) if decisions else (),
        body.get("first_at"),
    )
    return Folded(
        retired,
        tuple(map(tuple, body["ids"])),  # pairs, as written
        tuple(map(Source._make, body["sources"])),
        int(body["valid"]),
        int(body["duplicate"]),
    )


def finding_from(fields: list[Any]) -> Finding:
    fields[5] = tuple(fields[5])
    return Finding._make(fields)


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def encode_folded(folded: Folded) -> bytes:
    """One retired case in a record of its own: what releases before the archive wrote."""
    return dumps(folded_body(folded))


def decode_folded(value: bytes) -> Folded:
    return folded_from(json.loads(value))
