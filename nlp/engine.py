"""Score a message against a RuleSet and decide a label. Generic over label names (str).

The same engine runs gridbot's 13 categories and external label sets (the taidi benchmark), so
evaluation and keyword suggestion are tested on real data with the code the bot uses.

Speed: everything that depends only on the rules is precomputed in __init__ (per-literal owner,
weight and co-occurrence tables, which literals contain which), so scoring a message is one scan for
literal hits plus work proportional to the hits found. Exclusion regexes and jieba run only for a label
that has evidence to lose, and jieba only on the text blocks that contain a whole-word literal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nlp.matcher import LiteralIndex
from nlp.normalise import normalise
from nlp.rules import Keyword, RuleSet

# A hit is (literal, start). Its enclosure: the labels owning every longer hit that contains it.
_Hit = tuple[str, int]
_Enclosure = dict[_Hit, frozenset[str]]


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


@dataclass(frozen=True, slots=True)
class _Rule:
    """A co-occurrence keyword, compiled: group i of the keyword is bit i of `full`."""

    label: str
    weight: float
    text: str
    parts: tuple[str, ...]
    full: int


_NO_DECISION = Decision(None, (), 0.0)


class RuleEngine:
    """Keyword scoring with exclusions, whole-word checks and an override for must-not-miss labels.

    Args:
        rules: the validated rules.
        tokenize: jieba-style tokenizer for `whole_word` keywords; None drops every whole-word hit.
        has_token: optional faster answer to "is `word` one of tokenize(text)'s tokens?" (the
            classifier passes Tokenizer.has_token, which segments only the blocks containing it).
    """

    def __init__(
        self,
        rules: RuleSet,
        tokenize: Callable[[str], list[str]] | None = None,
        has_token: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.rules = rules
        self._tokenize = tokenize
        self._has_token = has_token
        self._names = tuple(c.name for c in rules.categories)
        owners: dict[str, set[str]] = {}
        whole_word: dict[str, set[str]] = {}
        for cat in rules.categories:
            for kw in cat.keywords:
                for part in kw.parts:
                    owners.setdefault(part, set()).add(cat.name)
                    if kw.whole_word:
                        whole_word.setdefault(cat.name, set()).add(part)
        self._owners = {lit: frozenset(names) for lit, names in owners.items()}
        self._whole_word = {name: frozenset(lits) for name, lits in whole_word.items()}
        self._exclude = {c.name: c.exclude for c in rules.categories if c.exclude}
        # Labels with exclusions or whole-word keywords, in precedence order.
        self._filtered = tuple(n for n in self._names if n in self._exclude or n in self._whole_word)
        self._index = LiteralIndex(self._owners)
        self._precedence = {name: i for i, name in enumerate(self._names)}
        self._override = tuple((rules.settings.override or {}).items())
        self._zero = tuple((name, 0.0) for name in self._names)
        self._zero_row = dict(self._zero)
        # Plain keywords: label -> literal -> (summed weight, texts); co-occurrence rules:
        # label -> literal -> rules mentioning it (the reference path after exclusions/whole-word).
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
        # The same tables per literal for the fast path: the plain-keyword entries of its labels, and
        # (rule index, group bits, single-group rule) for every co-occurrence rule mentioning it.
        lit_single: dict[str, list[tuple[str, float, tuple[str, ...]]]] = {}
        for name in self._names:
            for lit, (weight, texts) in self._single[name].items():
                lit_single.setdefault(lit, []).append((name, weight, texts))
        self._lit_single = {lit: tuple(v) for lit, v in lit_single.items()}
        self._rules: list[_Rule] = []
        lit_groups: dict[str, list[tuple[int, int, bool]]] = {}
        for cat in rules.categories:
            # Equal co-occurrence keywords of a label count once (as a set of Keyword would).
            for kw in dict.fromkeys(kw for kw in cat.keywords if len(kw.parts) > 1):
                rid = len(self._rules)
                self._rules.append(_Rule(cat.name, kw.weight, kw.text, kw.parts, (1 << len(kw.groups)) - 1))
                bits: dict[str, int] = {}
                for g, group in enumerate(kw.groups):
                    for lit in group:
                        bits[lit] = bits.get(lit, 0) | (1 << g)
                for lit in kw.parts:  # parts order == first-mention order, as in _multi
                    lit_groups.setdefault(lit, []).append((rid, bits[lit], len(kw.groups) == 1))
        self._lit_groups = {lit: tuple(v) for lit, v in lit_groups.items()}
        # Literal -> (offset, shorter literal) for every other literal occurring inside it: a hit of
        # the longer literal implies those hits, each enclosed by it.
        by_len = sorted(self._owners, key=len)
        self._inner: dict[str, tuple[tuple[int, str], ...]] = {}
        for lit in by_len:
            inner = [
                (at, sub)
                for sub in by_len
                if len(sub) < len(lit)
                for at in range(len(lit) - len(sub) + 1)
                if lit.startswith(sub, at)
            ]
            if inner:
                self._inner[lit] = tuple(inner)

    @property
    def literals(self) -> tuple[str, ...]:
        """Every keyword literal (they go into the tokenizer's dictionary)."""
        return tuple(self._owners)

    def score(self, text: str) -> Scores:
        """Score `text` for every label; labels without evidence score 0."""
        return self.score_normalised(normalise(text))

    def score_normalised(self, norm: str) -> Scores:
        """`score` for text already passed through `normalise`."""
        hits = self._index.scan(norm)
        if not hits:
            return Scores(self._zero, {})
        first: dict[str, int] = {}
        for lit, start in hits:
            if lit not in first:
                first[lit] = start
        # Hits inside a longer hit: the labels for which they still count as alone.
        enclosure: _Enclosure = {}
        limited: dict[str, set[str]] = {}  # literal -> labels it is alone for, when not for all
        inner_of = self._inner
        if len(first) > 1:
            owners = self._owners
            for lit, start in hits:
                inner = inner_of.get(lit)
                if inner:
                    mine = owners[lit]
                    for at, sub in inner:
                        key = (sub, start + at)
                        seen = enclosure.get(key)
                        enclosure[key] = mine if seen is None else seen & mine
            if enclosure:
                free: set[str] = set()
                for hit in hits:
                    labels = enclosure.get(hit)
                    if labels is None:
                        free.add(hit[0])
                    else:
                        limited.setdefault(hit[0], set()).update(labels)
                for lit in free:
                    limited.pop(lit, None)
        totals: dict[str, float] = {}
        matched: dict[str, list[tuple[int, str]]] = {}
        masks: dict[int, int] = {}
        lit_single = self._lit_single
        lit_groups = self._lit_groups
        rules = self._rules
        for lit, pos in first.items():
            alone_for = limited.get(lit)
            entries = lit_single.get(lit)
            if entries is not None:
                for name, weight, texts in entries:
                    if alone_for is None or name in alone_for:
                        totals[name] = totals.get(name, 0.0) + weight
                        found = matched.get(name)
                        if found is None:
                            found = matched[name] = []
                        for text in texts:
                            found.append((pos, text))
            groups = lit_groups.get(lit)
            if groups is not None:
                for rid, bits, needs_alone in groups:
                    if needs_alone and alone_for is not None and rules[rid].label not in alone_for:
                        continue
                    masks[rid] = masks.get(rid, 0) | bits
        for rid, mask in masks.items():
            rule = rules[rid]
            if mask == rule.full:
                name = rule.label
                totals[name] = totals.get(name, 0.0) + rule.weight
                found = matched.get(name)
                if found is None:
                    found = matched[name] = []
                found.append((min(first[p] for p in rule.parts if p in first), rule.text))
        filtered = self._filtered
        for name in [n for n in filtered if totals.get(n, 0.0) > 0] if totals else ():
            self._filter(name, norm, hits, first, enclosure, totals, matched)
        keywords: dict[str, tuple[str, ...]] = {}
        if matched:
            precedence = self._precedence
            for name in sorted(matched, key=precedence.__getitem__) if len(matched) > 1 else matched:
                found = matched[name]
                if len(found) == 1:
                    keywords[name] = (found[0][1],)
                elif found:
                    keywords[name] = tuple(dict.fromkeys(t for _, t in sorted(found)))
        if not totals:
            return Scores(self._zero, keywords)
        row = self._zero_row.copy()
        row.update(totals)
        return Scores(tuple(row.items()), keywords)

    def _filter(
        self,
        name: str,
        norm: str,
        hits: list[_Hit],
        first: dict[str, int],
        enclosure: _Enclosure,
        totals: dict[str, float],
        matched: dict[str, list[tuple[int, str]]],
    ) -> None:
        """Drop a label's hits inside its exclusions, then its whole-word hits jieba does not cut
        as words; re-score the label (in `totals`/`matched`) from the hits left when any was dropped."""
        mine: list[_Hit] | None = None
        exclude = self._exclude.get(name)
        if exclude:
            # Exclusions are regexes: run them only when the label has evidence to lose.
            spans = [m.span() for rx in exclude for m in rx.finditer(norm)]
            if spans:
                owners = self._owners
                mine = [h for h in hits if name in owners[h[0]]]
                left = [h for h in mine if not any(s <= h[1] and h[1] + len(h[0]) <= e for s, e in spans)]
                if len(left) < len(mine):
                    mine = left
                    self._rescore(name, mine, enclosure, totals, matched)
                    if totals[name] <= 0:
                        return
        whole = self._whole_word.get(name)
        if not whole:
            return
        if mine is None:
            candidates = [lit for lit in whole if lit in first]
        else:
            candidates = list(dict.fromkeys(h[0] for h in mine if h[0] in whole))
        if not candidates:
            return
        dropped = {lit for lit in candidates if not self._is_token(norm, lit)}
        if not dropped:
            return
        if mine is None:
            owners = self._owners
            mine = [h for h in hits if name in owners[h[0]]]
        self._rescore(name, [h for h in mine if h[0] not in dropped], enclosure, totals, matched)

    def _is_token(self, norm: str, word: str) -> bool:
        if self._has_token is not None:
            return self._has_token(norm, word)
        if self._tokenize is None:
            return False
        return word in self._tokenize(norm)

    def _rescore(
        self,
        name: str,
        mine: list[_Hit],
        enclosure: _Enclosure,
        totals: dict[str, float],
        matched: dict[str, list[tuple[int, str]]],
    ) -> None:
        """Score one label from the given subset of its hits (the general, slower path).

        `present`: every kept hit of the label's literals; `alone`: those not inside a longer keyword
        of another label. A single keyword needs its literal alone ("燃气费" is a fee question, not
        evidence for whoever owns "燃气"); a co-occurrence rule counts any hit of its parts, since
        the combination itself is the evidence ("微信" + "八折").
        """
        present: dict[str, int] = {}
        alone: set[str] = set()
        for hit in mine:
            lit = hit[0]
            if lit not in present:
                present[lit] = hit[1]
            labels = enclosure.get(hit)
            if labels is None or name in labels:
                alone.add(lit)
        total = 0.0
        found: list[tuple[int, str]] = []
        single = self._single[name]
        for lit in present:
            entry = single.get(lit)
            if entry is not None and lit in alone:
                total += entry[0]
                found.extend((present[lit], text) for text in entry[1])
        multi = self._multi[name]
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
                    found.append((min(present[p] for p in kw.parts if p in present), kw.text))
        totals[name] = total
        matched[name] = found

    def decide(self, scores: Scores) -> Decision:
        """Pick the winning label, or None when there is no or no clear winner."""
        settings = self.rules.settings
        positive = [(name, s) for name, s in scores.scores if s > 0]
        if not positive:
            return _NO_DECISION
        total = sum(s for _, s in positive)
        if self._override:
            values = dict(positive)
            for name, threshold in self._override:
                value = values.get(name, 0.0)
                if value >= threshold:
                    return Decision(name, (name,), round(value / total, 3))
        if len(positive) == 1:
            ranked = positive
        else:
            precedence = self._precedence
            ranked = sorted(positive, key=lambda kv: (-kv[1], precedence[kv[0]]))
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
        values = dict(positive)
        alerts = [name for name, threshold in self._override if values.get(name, 0.0) >= threshold / 2]
        if not alerts:
            return candidates
        return (*alerts, *(c for c in candidates if c not in alerts))

    def predict(self, text: str) -> str | None:
        """Shortcut for evaluation: the decided label or None."""
        return self.decide(self.score(text)).label
