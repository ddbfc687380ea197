"""A seeded, streaming generator of a national event stream.

Cases are generated day by day; each case's events wait in a heap until their
emission time, so memory holds only the cases still in flight, whatever the period.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from refmon.schemas.forces import Force
from refmon.simulation.config import NATIONAL_CASES_PER_YEAR, ForceBehaviour, SimConfig
from refmon.simulation.noise import malformed
from refmon.streams.engine.timeutil import end_of_following_day

HOUR = 3600.0
DAY = 24 * HOUR
LONDON = ZoneInfo("Europe/London")

BENIGN = (
    "delivery_of_duties", "police_powers", "information_access_disclosure", "vehicle_use",
    "property_handling", "individual_behaviour", "use_of_force", "sexual_harassment",
    "discriminatory_behaviour", "other",
)  # fmt: skip
# Triggers of mandatory cases, with their weights among mandatory complaints.
TRIGGERS = (
    ("death_or_serious_injury", 25), ("serious_assault", 20), ("serious_sexual_offence", 10),
    ("serious_corruption", 12), ("abuse_of_position_sexual_purpose", 6),
    ("abuse_of_position_emotional_relationship", 2), ("discrimination_aggravated", 15),
    ("relevant_offence", 5), ("chief_officer", 5),
)  # fmt: skip
CRITERION_OF = {
    "abuse_of_position_sexual_purpose": "serious_corruption",
    "abuse_of_position_emotional_relationship": "serious_corruption",
}
DECISIONS = ("independent", "directed", "local", "referred_back", "no_investigation")
# The watchdog's decisions, in the order above. Most mandatory referrals are
# investigated locally or under direction, a minority independently, some are
# returned; most voluntary ones are returned (about 22 % and 70 % returned).
MANDATORY_DECISIONS = (6, 10, 62, 14, 8)
VOLUNTARY_DECISIONS = (2, 3, 25, 42, 28)
DECISION_WEIGHTS = {"mandatory": MANDATORY_DECISIONS, "voluntary": VOLUNTARY_DECISIONS}
BASE_LATE = 0.03
BASE_VOLUNTARY = 0.01


@dataclass(slots=True)
class SimStats:
    cases: int = 0
    mandatory: int = 0
    events: int = 0
    lines: int = 0
    by_force: dict[str, int] = field(default_factory=dict)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _timestamp(seconds: float, local: bool) -> str:
    moment = datetime.fromtimestamp(round(seconds), tz=UTC)
    if local:
        return moment.astimezone(LONDON).isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Stream:
    """Events waiting for their emission time, written in emission order."""

    def __init__(
        self, config: SimConfig, rng: random.Random, write: Callable[[str], None], stats: SimStats
    ) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._config, self._rng, self._write, self._stats = config, rng, write, stats

    def push(self, at: float, event: dict[str, Any]) -> None:
        rng = self._rng
        event["occurred_at"] = _timestamp(at, local=rng.random() < 0.3)
        line = json.dumps(event, separators=(",", ":"))
        delay = rng.random() * self._config.disorder_hours * HOUR
        self._add(at + delay, line)
        self._stats.events += 1
        if rng.random() < self._config.duplicates:
            self._add(at + delay + rng.random() * 6 * HOUR, line)

    def _add(self, emit_at: float, line: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (emit_at, self._seq, line))

    def flush(self, until: float) -> None:
        rng = self._rng
        while self._heap and self._heap[0][0] < until:
            line = heapq.heappop(self._heap)[2]
            if rng.random() < self._config.invalid:
                # A corrupted copy goes before the good one: noise adds lines, never loses events.
                self._write(malformed(rng, line) + "\n")
                self._stats.lines += 1
            self._write(line + "\n")
            self._stats.lines += 1


class _Forces:
    def __init__(self, forces: Sequence[Force], config: SimConfig) -> None:
        total = sum(f.approx_officers for f in forces)
        per_day = NATIONAL_CASES_PER_YEAR * config.scale / 365
        self.rate = {f.code: per_day * f.approx_officers / total for f in forces}
        self.behaviour = {f.code: config.behaviour.get(f.code, ForceBehaviour()) for f in forces}
        self.seq = dict.fromkeys(self.rate, 0)
        # Unix seconds from which each deteriorating force turns late.
        self.worse_from = {
            code: datetime.combine(b.deteriorate_from, datetime.min.time(), LONDON).timestamp()
            for code, b in self.behaviour.items()
            if b.deteriorate_from is not None
        }

    def late_rate(self, force: str, duty: float) -> float:
        behaviour = self.behaviour[force]
        rate = max(behaviour.late, BASE_LATE)
        if duty >= self.worse_from.get(force, math.inf):
            rate = max(rate, behaviour.deteriorate)
        return rate


class _Generator:
    def __init__(
        self,
        config: SimConfig,
        forces: Sequence[Force],
        stream: _Stream,
        rng: random.Random,
        stats: SimStats,
    ) -> None:
        self.config, self.stream, self.rng, self.stats = config, stream, rng, stats
        self.forces = _Forces(forces, config)
        self.end = (
            datetime.combine(config.start, datetime.min.time(), tzinfo=UTC).timestamp()
            + config.days * DAY
        )

    def emit(
        self, at: float, force: str, case_id: str, event_type: str, n: int, payload: dict[str, Any]
    ) -> None:
        if at >= self.end:
            return
        self.stream.push(at, {
            "schema_version": 1,
            "event_id": f"{force}-{case_id}-{n}",
            "event_type": event_type,
            "force": force,
            "case_id": case_id,
            "occurred_at": "",
            "payload": payload,
        })  # fmt: skip

    def new_case_id(self, force: str) -> str:
        self.forces.seq[force] += 1
        return f"c{self.config.seed % 1000:03d}{self.forces.seq[force]:07d}"

    def facts(
        self, kind: str, trigger: str | None, assessed: bool, linked: list[str]
    ) -> dict[str, Any]:
        rng = self.rng
        harm = rng.choice(("none", "none", "none", "injury"))
        chief = False
        allegations: list[dict[str, Any]] = [
            {"allegation_id": f"a{i + 1}", "category": rng.choice(BENIGN)}
            for i in range(0 if kind == "dsi_matter" else rng.choice((1, 1, 1, 2, 2, 3)))
        ]
        criteria: list[str] = []
        if kind == "dsi_matter":
            harm = rng.choice(("serious_injury", "death"))
            criteria.append("dsi")
        elif trigger == "death_or_serious_injury":
            harm = rng.choice(("serious_injury", "serious_injury", "death"))
        elif trigger == "discrimination_aggravated":
            allegations[0]["aggravated_by_discrimination"] = True
            allegations[0]["category"] = "discriminatory_behaviour"
        elif trigger == "relevant_offence":
            allegations[0]["offence_max_sentence_years"] = rng.choice((7, 10, 14))
        elif trigger == "chief_officer":
            chief = True
        elif trigger is not None:
            allegations[0]["category"] = trigger
        # Offences below the relevant-offence threshold, for what-if rulesets (docs/cli.md,
        # "What if"): a second use-of-force allegation alleges actual bodily harm (at most
        # 5 years). Deterministic, so that the stream's randomness is as before.
        if len(allegations) > 1 and allegations[1]["category"] == "use_of_force":
            allegations[1]["offence_max_sentence_years"] = 5
        if trigger is not None:
            criteria.append(CRITERION_OF.get(trigger, trigger))
        if linked:
            criteria.append("same_incident")
        payload: dict[str, Any] = {
            "case_kind": kind,
            "harm": harm,
            "allegations": allegations,
            "force_assessment": {"mandatory": assessed, "criteria": criteria if assessed else []},
        }
        if chief:
            payload["subject_is_chief_officer"] = True
        if linked:
            payload["linked_case_ids"] = linked
        return payload

    def case(
        self,
        force: str,
        recorded_at: float,
        linked_to: str | None = None,
        duty_at: float | None = None,
    ) -> None:
        rng, behaviour = self.rng, self.forces.behaviour[force]
        case_id = self.new_case_id(force)
        self.stats.cases += 1
        self.stats.by_force[force] = self.stats.by_force.get(force, 0) + 1
        roll = rng.random()
        kind = "dsi_matter" if roll < 0.03 else "conduct_matter" if roll < 0.12 else "complaint"
        mandatory = (
            linked_to is not None
            or kind == "dsi_matter"
            or rng.random() < (0.25 if kind == "conduct_matter" else 0.07)
        )
        trigger = None
        if mandatory and kind != "dsi_matter" and linked_to is None:
            trigger = rng.choices([t for t, _ in TRIGGERS], [w for _, w in TRIGGERS])[0]
        if mandatory and linked_to is None and rng.random() < behaviour.under_categorise:
            mandatory, trigger, kind = False, None, "complaint" if kind == "dsi_matter" else kind
        linked = [linked_to] if linked_to else []
        never = mandatory and rng.random() < max(behaviour.under_refer, 0.01)
        assessed = mandatory and not never and rng.random() < 0.97
        n = 0
        # A fifth of mandatory cases only show their seriousness in a later update.
        escalates = mandatory and linked_to is None and kind != "dsi_matter" and rng.random() < 0.2
        first = self.facts(kind, None if escalates else trigger, assessed and not escalates, linked)
        self.emit(recorded_at, force, case_id, "case.recorded", n, first)
        duty = recorded_at if duty_at is None else max(recorded_at, duty_at)
        if escalates:
            duty = recorded_at + rng.uniform(0.5, 20) * DAY
            n += 1
            self.emit(
                duty, force, case_id, "case.updated", n, self.facts(kind, trigger, assessed, linked)
            )
        if mandatory:
            self.stats.mandatory += 1
            if linked_to is None and rng.random() < 0.04:
                for _ in range(rng.choice((1, 1, 2))):
                    self.case(
                        force, duty + rng.uniform(0, 2) * DAY, linked_to=case_id, duty_at=duty
                    )
        referred_at: float | None = None
        if mandatory and not never:
            deadline = end_of_following_day(int(duty * 1e6), LONDON) / 1e6
            late = rng.random() < self.forces.late_rate(force, duty)
            referred_at = (
                deadline + rng.uniform(1 * HOUR, 10 * DAY)
                if late
                else duty + rng.uniform(0.05, 0.8) * (deadline - duty)
            )
        elif not mandatory and rng.random() < max(behaviour.over_refer, BASE_VOLUNTARY):
            referred_at = recorded_at + rng.uniform(1, 10) * DAY
        if referred_at is not None:
            n = self.referral(
                force, case_id, n, referred_at, "mandatory" if mandatory else "voluntary", first
            )
        if rng.random() < 0.8:
            n += 1
            self.emit(
                recorded_at + rng.uniform(20, 200) * DAY, force, case_id, "case.closed", n, {}
            )

    def referral(
        self, force: str, case_id: str, n: int, at: float, kind: str, facts: dict[str, Any]
    ) -> int:
        rng = self.rng
        received = at
        if rng.random() < 0.9:
            n += 1
            criteria = facts["force_assessment"]["criteria"]
            self.emit(
                at,
                force,
                case_id,
                "case.referred",
                n,
                {"referral_kind": kind, "criteria": criteria},
            )
            # Intake usually logs a referral within the hour; a few claims wait days for it.
            received = at + (
                rng.uniform(60 * HOUR, 96 * HOUR)
                if rng.random() < 0.02
                else rng.uniform(0.01, 2) * HOUR
            )
        n += 1
        self.emit(received, force, case_id, "referral.received", n, {})
        n += 1
        self.emit(
            received + rng.uniform(1, 15) * DAY,
            force,
            case_id,
            "referral.decision",
            n,
            {"decision": rng.choices(DECISIONS, DECISION_WEIGHTS[kind])[0]},
        )
        return n


def simulate(
    config: SimConfig,
    forces: Sequence[Force],
    write: Callable[[str], None],
    on_day: Callable[[int], None] | None = None,
) -> SimStats:
    """Write the stream line by line through `write`; same config, same bytes."""
    rng = random.Random(config.seed)
    stats = SimStats()
    # Delivery (offsets, disorder, duplicates, noise) draws from its own generator,
    # so the same seed gives the same cases and events whatever noise is asked for.
    stream = _Stream(config, random.Random(f"{config.seed}/delivery"), write, stats)
    gen = _Generator(config, forces, stream, rng, stats)
    start = datetime.combine(config.start, datetime.min.time(), tzinfo=UTC).timestamp()
    for day in range(config.days):
        day_start = start + day * DAY
        for code, rate in gen.forces.rate.items():
            for _ in range(_poisson(rng, rate)):
                gen.case(code, day_start + rng.random() * DAY)
        stream.flush(day_start)
        if on_day is not None:
            on_day(day + 1)
    stream.flush(gen.end + (config.disorder_hours + 6) * HOUR + 1)
    return stats


__all__ = ["SimStats", "simulate"]
