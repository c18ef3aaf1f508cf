"""What the engine produces and how it decides: scores, the decision, how sure it is, and the small
pieces of evidence logic shared with the reference implementation in the tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from nlp.rules import Settings
from nlp.scope import Units

# A hit is (literal, start).
_Hit = tuple[str, int]

# Read-only, so one empty mapping can be every evidence-free message's default.
_NONE: Mapping[str, float] = MappingProxyType({})


# Scores and Decision are built once per message: NamedTuples, as a frozen dataclass's __init__ (one
# object.__setattr__ call per field) costs several times as much. Both are internal to nlp/.
class Scores(NamedTuple):
    """Per-label evidence for one message, labels in precedence order."""

    scores: tuple[tuple[str, float], ...]
    keywords: dict[str, tuple[str, ...]]
    # Labels with an override or `certain` threshold and some evidence -> the score of their firm
    # evidence alone (no sound-alike, nothing a polarity cue governs) and of their steady evidence
    # (nothing a polarity cue lowers): only steady evidence can win outright by the override.
    firm: Mapping[str, float] = _NONE
    steady: Mapping[str, float] = _NONE


class Decision(NamedTuple):
    label: str | None  # None: unknown (nothing matched, or too close to call)
    candidates: tuple[str, ...]  # labels worth offering the resident, best first
    confidence: float


@dataclass(frozen=True, slots=True)
class Combination:
    """A co-occurrence keyword, compiled: group i of the keyword is bit i of `full`."""

    weight: float
    text: str
    full: int
    within: str  # clause | sentence | message; "message" for single-group rules
    needs_alone: bool  # a single-group rule is a set of synonyms: it counts like a plain keyword


_NO_DECISION = Decision(None, (), 0.0)


def decide(scores: Scores, settings: Settings, precedence: Mapping[str, int]) -> Decision:
    """Pick the winning label, or None when there is no or no clear winner."""
    # The labels with evidence -> their scores, in precedence order: one dict serves the total, the
    # override look-ups and the alerts (this runs on every message).
    values = {name: s for name, s in scores.scores if s > 0}
    if not values:
        return _NO_DECISION
    total = sum(values.values())
    override = settings.override or _NONE
    for name, threshold in override.items():
        value = values.get(name, 0.0)
        # Lowered evidence (the past, hearsay, paperwork) competes like any other, never wins outright.
        if scores.steady.get(name, value) >= threshold:
            return Decision(name, (name,), round(value / total, 3))
    if len(values) == 1:  # the common case: nothing to rank, nothing close
        ranked = list(values.items())
    else:
        ranked = sorted(values.items(), key=lambda kv: (-kv[1], precedence[kv[0]]))
    best_name, best = ranked[0]
    confidence = round(best / total, 3)
    if best < settings.min_score:
        return Decision(None, _with_alerts(tuple(n for n, _ in ranked), values, override), confidence)
    if len(ranked) == 1:
        return Decision(best_name, (best_name,), confidence)
    # With margin 0 exact ties go to the earlier category (precedence) instead of unknown.
    close = (best_name, *(n for n, s in ranked[1:] if best - s < settings.ambiguity_margin))
    if len(close) > 1:
        return Decision(None, _with_alerts(close, values, override), confidence)
    return Decision(best_name, (best_name,), confidence)


def _with_alerts(
    candidates: tuple[str, ...], values: Mapping[str, float], override: Mapping[str, float]
) -> tuple[str, ...]:
    """Safety net for unknown results: an override label (emergency) with at least half of its
    override score is offered first, even when it was not among the close candidates, so the
    resident sees the emergency button and the result carries its priority."""
    alerts = [name for name, threshold in override.items() if values.get(name, 0.0) >= threshold / 2]
    if not alerts:
        return candidates
    return (*alerts, *(c for c in candidates if c not in alerts))


def certainty(scores: Scores, decision: Decision, label: str, threshold: float | None) -> str:
    """How sure the decision is about `label`: "certain", "possible" or "none".

    Certain: `label` won on firm evidence reaching its `certain` threshold (exact words, in
    affirmative present clauses). Possible: it won on weaker, lowered or sound-alike evidence, or
    is offered among the candidates of an unknown result. None otherwise.
    """
    if label not in decision.candidates:
        return "none"
    if decision.label == label and threshold is not None and scores.firm.get(label, 0.0) >= threshold:
        return "certain"
    return "possible"


def on_token_bounds(tokens: Sequence[str], text: str, word: str) -> bool:
    """Whether `word` occurs in `text` starting and ending at boundaries of `tokens` (its segmentation)."""
    bounds = {0}
    at = 0
    for token in tokens:
        at += len(token)
        bounds.add(at)
    start = text.find(word)
    while start != -1:
        if start in bounds and start + len(word) in bounds:
            return True
        start = text.find(word, start + 1)
    return False


def met(rule: Combination, parts: list[tuple[int, float, int]], units: Units) -> tuple[float, int] | None:
    """(factor, position) of a combination whose parts all occur in one clause (sentence, message),
    the best such place; None when they never meet. The best-placed part of a place decides its
    factor: 煤气罐阀门坏了 (lowered) + 往外呲气 (present) is a leak now."""
    if rule.within == "message":
        return max(f for _, f, _ in parts), min(p for _, _, p in parts)
    places: dict[int, tuple[int, float, int]] = {}
    for bits, factor, start in parts:
        unit = units.unit(rule.within, start)
        seen = places.get(unit)
        places[unit] = (
            (bits, factor, start) if seen is None else (seen[0] | bits, max(seen[1], factor), seen[2])
        )
    complete = [(factor, start) for mask, factor, start in places.values() if mask == rule.full]
    if not complete:
        return None
    return max(f for f, _ in complete), min(p for _, p in complete)


def touches(hit: _Hit, spans: Sequence[tuple[int, int]]) -> bool:
    start, end = hit[1], hit[1] + len(hit[0])
    return any(start < e and s < end for s, e in spans)
