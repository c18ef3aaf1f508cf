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
        # Only keywords with a hit are ever evaluated. Plain keywords: category -> literal -> (summed
        # weight, texts); co-occurrence rules: category -> literal -> rules mentioning it.
        self._single: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {}
        self._multi: dict[str, dict[str, list[Keyword]]] = {}
        for cat in rules.categories:
            single = self._single.setdefault(cat.name, {})
            multi = self._multi.setdefault(cat.name, {})
            for kw in cat.keywords:
                if len(kw.parts) == 1:
                    weight, texts = single.get(kw.parts[0], (0.0, ()))
                    single[kw.parts[0]] = (weight + kw.weight, (*texts, kw.text))
                else:
                    for part in kw.parts:
                        multi.setdefault(part, []).append(kw)

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
        by_label: dict[str, list[int]] = {}
        for i, h in enumerate(hits):
            for name in self._owners[h.literal]:
                by_label.setdefault(name, []).append(i)
        enclosing = self._enclosing_owners(hits)
        for cat in self.rules.categories:
            mine = by_label.get(cat.name)
            if not mine:
                result.append((cat.name, 0.0))
                continue
            total, matched = self._evaluate(cat, hits, mine, enclosing)
            if total > 0 and cat.exclude:
                # Exclusions are regexes: run them only when the label has evidence to lose.
                spans = [m.span() for rx in cat.exclude for m in rx.finditer(norm)]
                if spans:
                    left = [
                        i for i in mine if not any(s <= hits[i].start and hits[i].end <= e for s, e in spans)
                    ]
                    if len(left) < len(mine):
                        mine = left
                        total, matched = self._evaluate(cat, hits, mine, enclosing)
            if total > 0 and any((cat.name, hits[i].literal) in self._whole_word for i in mine):
                if tokens is None:
                    tokens = set(self._tokenize(norm)) if self._tokenize else set()
                token_set = tokens
                left = [
                    i
                    for i in mine
                    if (cat.name, hits[i].literal) not in self._whole_word or hits[i].literal in token_set
                ]
                if len(left) < len(mine):
                    mine = left
                    total, matched = self._evaluate(cat, hits, mine, enclosing)
            result.append((cat.name, total))
            if matched:
                keywords[cat.name] = tuple(dict.fromkeys(t for _, t in sorted(matched)))
        return Scores(tuple(result), keywords)

    def _enclosing_owners(self, hits: list[Hit]) -> list[tuple[frozenset[str], ...]]:
        """For each hit, the owner sets of the longer hits that contain it (usually none).

        Hits come sorted by start, longer first on the same start, so only earlier hits can
        contain a later one.
        """
        out: list[tuple[frozenset[str], ...]] = []
        for i, h in enumerate(hits):
            out.append(
                tuple(
                    self._owners[o.literal]
                    for o in hits[:i]
                    if h.end <= o.end and len(o.literal) > len(h.literal)
                )
                if i
                else ()
            )
        return out

    def _evaluate(
        self,
        cat: CategoryRules,
        hits: list[Hit],
        mine: list[int],
        enclosing: list[tuple[frozenset[str], ...]],
    ) -> tuple[float, list[tuple[int, str]]]:
        """Sum the weights of this label's satisfied keywords, given the indexes of its kept hits.

        `present`: every kept hit of the label's literals; `alone`: those not inside a longer keyword
        of another label. A single keyword needs its literal alone ("燃气费" is a fee question, not
        evidence for whoever owns "燃气"); a co-occurrence rule counts any hit of its parts, since
        the combination itself is the evidence ("微信" + "八折").
        """
        if not mine:
            return 0.0, []
        present: dict[str, int] = {}
        alone: set[str] = set()
        for i in mine:
            h = hits[i]
            present.setdefault(h.literal, h.start)
            if all(cat.name in owners for owners in enclosing[i]):
                alone.add(h.literal)
        total = 0.0
        matched: list[tuple[int, str]] = []
        single = self._single[cat.name]
        for lit in alone:
            entry = single.get(lit)
            if entry is not None:
                total += entry[0]
                matched.extend((present[lit], text) for text in entry[1])
        multi = self._multi[cat.name]
        seen: set[Keyword] = set()
        for lit in present:
            for kw in multi.get(lit, ()):
                if kw in seen:
                    continue
                seen.add(kw)
                if len(kw.groups) == 1:
                    ok = any(a in alone for a in kw.groups[0])
                else:
                    ok = all(any(a in present for a in g) for g in kw.groups)
                if ok:
                    total += kw.weight
                    matched.append((min(present[p] for p in kw.parts if p in present), kw.text))
        return total, matched

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
            return Decision(None, self._with_alerts(tuple(n for n, _ in ranked), positive), confidence)
        # With margin 0 exact ties go to the earlier category (precedence) instead of unknown.
        close = (best_name, *(n for n, s in ranked[1:] if best - s < settings.ambiguity_margin))
        if len(close) > 1:
            return Decision(None, self._with_alerts(close, positive), confidence)
        return Decision(best_name, (best_name,), confidence)

    def _with_alerts(self, candidates: tuple[str, ...], positive: list[tuple[str, float]]) -> tuple[str, ...]:
        """Safety net for unknown results: an override label (emergency) with at least half of its
        override score is offered first, even when it was not among the close candidates, so the
        resident sees the emergency button and the result carries its priority."""
        alerts = [
            name
            for name, threshold in (self.rules.settings.override or {}).items()
            if dict(positive).get(name, 0.0) >= threshold / 2
        ]
        if not alerts:
            return candidates
        return (*alerts, *(c for c in candidates if c not in alerts))

    def predict(self, text: str) -> str | None:
        """Shortcut for evaluation: the decided label or None."""
        return self.decide(self.score(text)).label
