"""Rulesets: declarative referral criteria, validated on load and compiled to predicates.

A ruleset file (see `refmon/streams/rulesets/`) names each criterion and a `when`
table of conditions that must all hold. The vocabulary of conditions is closed
and small, so every criterion can be explained in words and checked on load.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import NamedTuple

from refmon.streams.engine.model import CaseFacts
from refmon.streams.engine.vocabulary import CASE_KINDS, CATEGORIES, CRITERION_IDS, HARMS


class FactsSummary(NamedTuple):
    """What any condition can ask of a case's facts; hashable, so masks can be memoised."""

    case_kind: str
    harm: str
    chief_officer: bool
    categories: frozenset[str]
    aggravated: bool
    max_sentence_years: float | None


def summarise(facts: CaseFacts) -> FactsSummary:
    years = [a.offence_max_sentence_years for a in facts.allegations]
    known = [y for y in years if y is not None]
    return FactsSummary(
        case_kind=facts.case_kind,
        harm=facts.harm,
        chief_officer=facts.subject_is_chief_officer,
        categories=frozenset(a.category for a in facts.allegations),
        aggravated=any(a.aggravated_by_discrimination for a in facts.allegations),
        max_sentence_years=max(known) if known else None,
    )


Predicate = Callable[[FactsSummary], bool]

LINKED_CONDITION = "linked_case_mandatory"

RULESET_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""A ruleset id is copied into every finding and printed: restricted like an event id."""
MAX_DEADLINE_DAYS_AFTER = 366
MAX_UNCONFIRMED_AFTER_HOURS = 366 * 24
MAX_SENTENCE_THRESHOLD_YEARS = 100
"""The largest offence_max_sentence_years an event may carry (schemas/payloads.py)."""
MAX_TEXT_CHARS = 1000
"""Titles and explanations are printed whole; a bound keeps them to a few lines."""


class RulesetError(ValueError):
    """A ruleset file that does not describe a valid ruleset."""


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    bit: int
    title: str
    legal_basis: str
    explanation: str
    conditions: tuple[str, ...]
    """The `when` table in words, one line per condition."""
    predicate: Predicate | None
    """None for the linked-case criterion, which needs other cases to judge."""


@dataclass(frozen=True, slots=True)
class Ruleset:
    id: str
    title: str
    zone: tzinfo
    deadline_days_after: int
    unconfirmed_after_us: int
    criteria: tuple[Criterion, ...]
    linked_bit: int
    """Bit of the same-incident criterion (0 when the ruleset has none)."""
    _masks: dict[FactsSummary, int] = field(default_factory=dict, compare=False, repr=False)
    """Memo of own_mask: national streams repeat a few hundred distinct summaries."""
    _names: dict[int, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def own_mask(self, facts: CaseFacts) -> int:
        """Bits of the criteria these facts meet by themselves (all but same-incident)."""
        summary = summarise(facts)
        mask = self._masks.get(summary)
        if mask is None:
            mask = 0
            for criterion in self.criteria:
                if criterion.predicate is not None and criterion.predicate(summary):
                    mask |= criterion.bit
            if len(self._masks) < 100_000:
                self._masks[summary] = mask
        return mask

    def names(self, mask: int) -> tuple[str, ...]:
        """Criterion ids of a bit mask, in ruleset order."""
        names = self._names.get(mask)
        if names is None:
            names = self._names[mask] = tuple(c.id for c in self.criteria if mask & c.bit)
        return names


def _quote(value: str) -> str:
    """A value from the file, for a message: cut short, control characters escaped."""
    cut = value[:64]
    if not cut.isprintable():
        cut = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return cut + ("..." if len(value) > 64 else "")


def _names(values: Iterable[object]) -> str:
    return ", ".join(_quote(v) for v in sorted(str(v) for v in values))


def _string_set(key: str, value: object, allowed: frozenset[str]) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RulesetError(f"{key} takes a non-empty list of strings")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise RulesetError(f"{key}: unknown value(s) {_names(unknown)}")
    return frozenset(value)


def _true_flag(key: str, value: object) -> None:
    if value is not True:
        raise RulesetError(f"{key} takes only `true`")


def _compile_condition(key: str, value: object) -> tuple[str, Predicate]:
    if key == "case_kind_in":
        kinds = _string_set(key, value, CASE_KINDS)
        return f"case_kind is one of {', '.join(sorted(kinds))}", lambda s: s.case_kind in kinds
    if key == "harm_in":
        harms = _string_set(key, value, HARMS)
        return f"harm is one of {', '.join(sorted(harms))}", lambda s: s.harm in harms
    if key == "subject_is_chief_officer":
        _true_flag(key, value)
        return "subject_is_chief_officer is true", lambda s: s.chief_officer
    if key == "any_allegation_category_in":
        cats = _string_set(key, value, CATEGORIES)
        return (
            f"an allegation has category {' or '.join(sorted(cats))}",
            lambda s: not s.categories.isdisjoint(cats),
        )
    if key == "any_allegation_aggravated_by_discrimination":
        _true_flag(key, value)
        return (
            "an allegation has aggravated_by_discrimination: true",
            lambda s: s.aggravated,
        )
    if key == "any_allegation_offence_max_sentence_years_at_least":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= MAX_SENTENCE_THRESHOLD_YEARS
        ):
            raise RulesetError(f"{key} takes a number >= 0 and <= {MAX_SENTENCE_THRESHOLD_YEARS}")
        years = float(value)
        return (
            f"an allegation has offence_max_sentence_years >= {value:g}",
            lambda s: s.max_sentence_years is not None and s.max_sentence_years >= years,
        )
    raise RulesetError(f"unknown condition '{_quote(key)}'")


def _all_of(predicates: Sequence[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    return lambda summary: all(p(summary) for p in predicates)


def _text(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RulesetError(f"{where}: {key} must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise RulesetError(f"{where}: {key} must be at most {MAX_TEXT_CHARS} characters")
    return value


def _ruleset_id(data: Mapping[str, object]) -> str:
    value = data.get("id")
    # The value itself is never quoted: it may be huge or hold terminal escapes.
    if not isinstance(value, str) or not RULESET_ID.fullmatch(value):
        raise RulesetError("id must be 1-64 characters of [A-Za-z0-9._:-]")
    return value


def _bounded_int(data: Mapping[str, object], key: str, most: int) -> int:
    """A whole number in [0, most]: deadlines derived from it must stay representable."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise RulesetError(f"{key} must be a whole number >= 0 and <= {most}")
    return value


def _parse_criterion(entry: object, index: int, seen: set[str]) -> Criterion:
    where = f"criteria[{index}]"
    if not isinstance(entry, Mapping):
        raise RulesetError(f"{where} must be a table")
    extra = set(entry) - {"id", "title", "legal_basis", "explanation", "when"}
    if extra:
        raise RulesetError(f"{where}: unknown key(s) {_names(extra)}")
    criterion_id = _text(entry, "id", where)
    if criterion_id not in CRITERION_IDS:
        raise RulesetError(
            f"{where}: '{_quote(criterion_id)}' is not a criterion id of contract v1"
        )
    if criterion_id in seen:
        raise RulesetError(f"{where}: criterion '{_quote(criterion_id)}' is defined twice")
    seen.add(criterion_id)
    when = entry.get("when")
    if not isinstance(when, Mapping) or not when:
        raise RulesetError(f"{where} ({criterion_id}): `when` must be a non-empty table")
    predicate: Predicate | None
    if LINKED_CONDITION in when:
        if len(when) != 1:
            raise RulesetError(f"{where}: {LINKED_CONDITION} cannot be combined with others")
        _true_flag(LINKED_CONDITION, when[LINKED_CONDITION])
        words: tuple[str, ...] = (
            "a case named in this case's own linked_case_ids (same force) is mandatory "
            "by another criterion, counted from the moment its own duty arose",
        )
        predicate = None
    else:
        try:
            compiled = [_compile_condition(str(k), v) for k, v in when.items()]
        except RulesetError as err:
            raise RulesetError(f"{where} ({criterion_id}): {err}") from None
        words = tuple(w for w, _ in compiled)
        predicate = _all_of([p for _, p in compiled])
    return Criterion(
        id=criterion_id,
        bit=1 << index,
        title=_text(entry, "title", where),
        legal_basis=_text(entry, "legal_basis", where),
        explanation=_text(entry, "explanation", where),
        conditions=words,
        predicate=predicate,
    )


def parse_ruleset(data: Mapping[str, object], zone: Callable[[str], tzinfo]) -> Ruleset:
    """Validate a decoded ruleset file and compile it.

    `zone` resolves the deadline time zone's name (the adapter passes
    `zoneinfo.ZoneInfo`), so that the engine itself reads no files.
    """
    extra = set(data) - {
        "id",
        "title",
        "deadline_timezone",
        "deadline_days_after",
        "unconfirmed_after_hours",
        "criteria",
    }
    if extra:
        raise RulesetError(f"unknown key(s) {_names(extra)}")
    entries = data.get("criteria")
    if not isinstance(entries, list) or not entries:
        raise RulesetError("criteria must be a non-empty list of tables")
    seen: set[str] = set()
    criteria = tuple(_parse_criterion(e, i, seen) for i, e in enumerate(entries))
    if sum(1 for c in criteria if c.predicate is None) > 1:
        raise RulesetError("only one criterion may use linked_case_mandatory")
    zone_name = _text(data, "deadline_timezone", "ruleset")
    try:
        resolved = zone(zone_name)
    except Exception as err:  # the resolver's own error types vary
        raise RulesetError(f"unknown deadline_timezone '{_quote(zone_name)}'") from err
    return Ruleset(
        id=_ruleset_id(data),
        title=_text(data, "title", "ruleset"),
        zone=resolved,
        deadline_days_after=_bounded_int(data, "deadline_days_after", MAX_DEADLINE_DAYS_AFTER),
        unconfirmed_after_us=_bounded_int(
            data, "unconfirmed_after_hours", MAX_UNCONFIRMED_AFTER_HOURS
        )
        * 3_600_000_000,
        criteria=criteria,
        linked_bit=next((c.bit for c in criteria if c.predicate is None), 0),
    )
