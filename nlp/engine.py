"""Score a message against a RuleSet and decide a label. Generic over label names (str).

The same engine runs gridbot's 13 categories and external label sets (the taidi benchmark), so
evaluation and keyword suggestion are tested on real data with the code the bot uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nlp.matcher import Hit, LiteralIndex
from nlp.normalise import normalise
from nlp.rules import CategoryRules, Keyword, RuleSet


@dataclass(frozen=True)
class Scores:
    """Per-label evidence for one message, labels in precedence order."""

    scores: tuple[tuple[str, float], ...]
    keywords: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Decision:
    label: str | None  # None: unknown (nothing matched, or too close to call)
    candidates: tuple[str, ...]  # labels worth offering the resident, best first
    confidence: float


class RuleEngine:
    """Keyword scoring with exclusions, whole-word checks and an override for must-not-miss labels."""

    def __init__(self, rules: RuleSet, tokenize: Callable[[str], list[str]] | None = None) -> None:
        self.rules = rules
        self._tokenize = tokenize
        literals: set[str] = set()
        self._owners: dict[str, frozenset[str]] = {}
        owners: dict[str, set[str]] = {}
        self._whole_word: set[tuple[str, str]] = set()
        for cat in rules.categories:
            for kw in cat.keywords:
                for part in kw.parts:
                    literals.add(part)
                    owners.setdefault(part, set()).add(cat.name)
                    if kw.whole_word:
                        self._whole_word.add((cat.name, part))
        self._owners = {lit: frozenset(names) for lit, names in owners.items()}
        self._index = LiteralIndex(literals)
        self._precedence = {c.name: i for i, c in enumerate(rules.categories)}
        # category -> literal -> keywords using it: only keywords with a hit are ever evaluated.
        self._by_literal: dict[str, dict[str, list[Keyword]]] = {}
        for cat in rules.categories:
            table = self._by_literal.setdefault(cat.name, {})
            for kw in cat.keywords:
                for part in dict.fromkeys(kw.parts):
                    table.setdefault(part, []).append(kw)

    @property
    def literals(self) -> tuple[str, ...]:
        """Every keyword literal (they go into the tokenizer's dictionary)."""
        return tuple(self._owners)

    def score(self, text: str) -> Scores:
        """Score `text` for every label; labels without evidence score 0."""
        norm = normalise(text)
        hits = self._index.find(norm)
        if not hits:
            return Scores(tuple((c.name, 0.0) for c in self.rules.categories), {})
        tokens: set[str] | None = None
        result: list[tuple[str, float]] = []
        keywords: dict[str, tuple[str, ...]] = {}
        touched = {name for h in hits for name in self._owners[h.literal]}
        for cat in self.rules.categories:
            kept = self._kept_hits(cat, hits, norm) if cat.name in touched else []
            if not kept:
                result.append((cat.name, 0.0))
                continue
            if any((cat.name, h.literal) in self._whole_word for h in kept):
                if tokens is None:
                    tokens = set(self._tokenize(norm)) if self._tokenize else set()
                token_set = tokens
                kept = [
                    h for h in kept if (cat.name, h.literal) not in self._whole_word or h.literal in token_set
                ]
            present: dict[str, int] = {}
            for h in kept:
                present.setdefault(h.literal, h.start)
            table = self._by_literal[cat.name]
            candidates = dict.fromkeys(kw for lit in present for kw in table[lit])
            total = 0.0
            matched: list[tuple[int, str]] = []
            for kw in candidates:
                if all(p in present for p in kw.parts):
                    total += kw.weight
                    matched.append((min(present[p] for p in kw.parts), kw.text))
            result.append((cat.name, total))
            if matched:
                keywords[cat.name] = tuple(dict.fromkeys(t for _, t in sorted(matched)))
        return Scores(tuple(result), keywords)

    def _kept_hits(self, cat: CategoryRules, hits: list[Hit], norm: str) -> list[Hit]:
        mine = [h for h in hits if cat.name in self._owners[h.literal]]
        if not mine:
            return mine
        # A hit inside a longer keyword of another label belongs to that label: "燃气费" is a fee
        # question, not evidence for whoever owns "燃气".
        mine = [
            h
            for h in mine
            if not any(
                o.start <= h.start
                and h.end <= o.end
                and len(o.literal) > len(h.literal)
                and cat.name not in self._owners[o.literal]
                for o in hits
            )
        ]
        if mine and cat.exclude:
            spans = [m.span() for rx in cat.exclude for m in rx.finditer(norm)]
            if spans:
                mine = [h for h in mine if not any(s <= h.start and h.end <= e for s, e in spans)]
        return mine

    def decide(self, scores: Scores) -> Decision:
        """Pick the winning label, or None when there is no or no clear winner."""
        settings = self.rules.settings
        positive = [(name, s) for name, s in scores.scores if s > 0]
        if not positive:
            return Decision(None, (), 0.0)
        total = sum(s for _, s in positive)
        for name, threshold in (settings.override or {}).items():
            value = dict(positive).get(name, 0.0)
            if value >= threshold:
                return Decision(name, (name,), round(value / total, 3))
        ranked = sorted(positive, key=lambda kv: (-kv[1], self._precedence[kv[0]]))
        best_name, best = ranked[0]
        confidence = round(best / total, 3)
        if best < settings.min_score:
            return Decision(None, tuple(n for n, _ in ranked), confidence)
        # With margin 0 exact ties go to the earlier category (precedence) instead of unknown.
        close = (best_name, *(n for n, s in ranked[1:] if best - s < settings.ambiguity_margin))
        if len(close) > 1:
            return Decision(None, close, confidence)
        return Decision(best_name, (best_name,), confidence)

    def predict(self, text: str) -> str | None:
        """Shortcut for evaluation: the decided label or None."""
        return self.decide(self.score(text)).label
