"""Score a message against a RuleSet and decide a label. Generic over label names (str).

The same engine runs gridbot's 13 categories and external label sets (the taidi benchmark), so
evaluation and keyword suggestion are tested on real data with the code the bot uses.

How a label's evidence is counted (tests/unit/nlp/test_matcher_equivalence.py has a plain reference):
- every occurrence of every keyword literal is a hit; a hit inside a longer hit of another label only
  counts, as a plain keyword, for the labels owning that longer hit ("燃气费" is a fee, not 燃气);
- a plain keyword counts once, however often it occurs; a combination (`all:`) counts when each of its
  groups has a hit inside one clause (or sentence, or the message, as the rule says);
- hits inside the label's exclusions, and whole-word hits jieba does not cut as words, are dropped;
- polarity cues (nlp/scope.py) multiply the weight of the hits they govern (0 drops them), once
  the governed label has at least the minimum score (below it, it cannot win anyway);
- a label with an override or `certain` threshold also gets a steady score (the evidence no cue
  lowered: only that can win outright) and a firm one (no governed or sound-alike hit at all:
  only that makes the label certain).

Speed: everything that depends only on the rules is precomputed in __init__, so scoring is one scan for
literal hits plus work proportional to the hits found. Exclusion regexes and jieba run only for a label
that has evidence to lose, and jieba only on the text blocks that contain a whole-word literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from nlp.evidence import Combination, Decision, Scores, certainty, decide, met, on_token_bounds, touches
from nlp.matcher import LiteralIndex
from nlp.normalise import normalise
from nlp.rules import RuleSet
from nlp.scope import Governed, Move, Span, Units, factor_at

__all__ = ["Decision", "RuleEngine", "Scores", "on_token_bounds"]

# A hit is (literal, start). Its enclosure: the labels owning every longer hit that contains it.
_Hit = tuple[str, int]
_Enclosure = dict[_Hit, frozenset[str]]
_NO_WORDS: frozenset[str] = frozenset()  # one shared empty set: made once, not once per label
# A literal's labels' precedence ranks, its labels and its inner literals (offset, literal).
_Literal = tuple[tuple[int, ...], frozenset[str], tuple[tuple[int, str], ...]]
# A literal's part in one label: its plain keyword (summed weight, texts) if any, its (rule id, group bits).
_Entry = tuple[tuple[float, tuple[str, ...]] | None, tuple[tuple[int, int], ...]]


class RuleEngine:
    """Keyword scoring with exclusions, whole-word checks, clause scope, polarity and an override for
    must-not-miss labels.

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
        # One alternation per label: a pass over the text per label instead of one per exclusion,
        # compiled on first use (compiling them all is a good part of the start-up otherwise).
        self._exclude = {
            c.name: "|".join(f"(?:{rx.pattern})" for rx in c.exclude) for c in rules.categories if c.exclude
        }
        self._exclude_rx: dict[str, re.Pattern[str]] = {}
        self._filtered = frozenset(n for n in self._names if n in self._exclude or n in self._whole_word)
        self._index = LiteralIndex(self._owners)
        self._precedence = {name: i for i, name in enumerate(self._names)}
        self._override = tuple((rules.settings.override or {}).items())
        self._certain = dict(rules.settings.certain or {})
        self._min_score = rules.settings.min_score
        self._watched = frozenset(self._certain) | {name for name, _ in self._override}
        self._polarity = rules.polarity
        self._governs = rules.polarity.labels if rules.polarity else frozenset()
        if rules.polarity is not None:
            governed = [lit for lit, names in owners.items() if names & self._governs]
            self._polarity = rules.polarity.around(governed)
        self._zero = tuple((name, 0.0) for name in self._names)
        self._zero_row = dict(self._zero)
        # Per label: plain keyword literal -> (summed weight, texts); literal -> (rule id, group bits).
        self._single: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {}
        self._lit_rules: dict[str, dict[str, list[tuple[int, int]]]] = {}
        self._rules: list[Combination] = []
        for cat in rules.categories:
            single = self._single.setdefault(cat.name, {})
            lit_rules = self._lit_rules.setdefault(cat.name, {})
            for kw in cat.keywords:
                if len(kw.parts) == 1:
                    weight, texts = single.get(kw.parts[0], (0.0, ()))
                    single[kw.parts[0]] = (weight + kw.weight, (*texts, kw.text))
            # Equal co-occurrence keywords of a label count once (as a set of Keyword would).
            for kw in dict.fromkeys(kw for kw in cat.keywords if len(kw.parts) > 1):
                rid = len(self._rules)
                one_group = len(kw.groups) == 1
                within = "message" if one_group else kw.within
                self._rules.append(
                    Combination(kw.weight, kw.text, (1 << len(kw.groups)) - 1, within, one_group)
                )
                bits: dict[str, int] = {}
                for g, group in enumerate(kw.groups):
                    for lit in group:
                        bits[lit] = bits.get(lit, 0) | (1 << g)
                for lit in kw.parts:
                    lit_rules.setdefault(lit, []).append((rid, bits[lit]))
        # Per label, one look-up per hit in _label instead of two: literal -> (its plain keyword's
        # weight and texts or None, the combinations it is part of).
        self._table: dict[str, dict[str, _Entry]] = {
            name: {
                lit: (self._single[name].get(lit), tuple(self._lit_rules[name].get(lit, ())))
                for lit in (*self._single[name], *self._lit_rules[name])
            }
            for name in self._names
        }
        # Literal -> (offset, shorter literal) for every other literal occurring inside it: a hit of
        # the longer literal implies those hits, each enclosed by it.
        self._inner: dict[str, tuple[tuple[int, str], ...]] = {}
        for lit in self._owners:
            inner = [
                (at, lit[at:end])
                for at in range(len(lit))
                for end in range(at + 1, len(lit) + 1)
                if end - at < len(lit) and lit[at:end] in self._owners
            ]
            if inner:
                self._inner[lit] = tuple(inner)
        # Literal -> (its labels' precedence ranks, its labels, its inner literals): one look-up per hit.
        self._literal: dict[str, _Literal] = {
            lit: (tuple(sorted(self._precedence[n] for n in names)), names, self._inner.get(lit, ()))
            for lit, names in self._owners.items()
        }

    @property
    def literals(self) -> tuple[str, ...]:
        """Every keyword literal (they go into the tokenizer's dictionary)."""
        return tuple(self._owners)

    def score(self, text: str) -> Scores:
        """Score `text` for every label; labels without evidence score 0."""
        return self.score_normalised(normalise(text))

    def score_normalised(self, norm: str, doubtful: Sequence[tuple[int, int]] = ()) -> Scores:
        """`score` for text already passed through `normalise`.

        Args:
            norm: the normalised text.
            doubtful: (start, end) spans whose hits never count as firm evidence (sound-alike fixes).
        """
        hits = self._index.scan(norm)
        if not hits:
            return Scores(self._zero, {})
        # One pass over the hits: each label's hits (keyed by precedence, so a plain sort orders the
        # labels), and each hit inside a longer hit -> the labels owning every longer hit around it.
        enclosure: _Enclosure = {}
        by_label: dict[int, list[_Hit]] = {}
        literal = self._literal
        for hit in hits:
            ranks, owners, inner = literal[hit[0]]
            for rank in ranks:
                mine = by_label.get(rank)
                if mine is None:
                    by_label[rank] = [hit]
                else:
                    mine.append(hit)
            if inner:
                start = hit[1]
                for at, sub in inner:
                    key = (sub, start + at)
                    seen = enclosure.get(key)
                    enclosure[key] = owners if seen is None else seen & owners
        units = Units(norm)
        governed: Governed | None = None
        polarity = self._polarity
        totals: dict[str, float] = {}
        keywords: dict[str, tuple[str, ...]] = {}
        firm: dict[str, float] = {}
        steady: dict[str, float] = {}
        moved: dict[str, float] = {}
        moved_found: dict[str, list[tuple[int, str]]] = {}
        names = self._names
        for rank in sorted(by_label):
            name = names[rank]
            mine = by_label[rank]
            spans = moves = None
            total, steady_total, found = self._label(name, mine, enclosure, units, None)
            # Cues are looked for once a governed label has evidence that could decide: below the
            # minimum score it cannot win, whatever governs it.
            if polarity is not None and name in self._governs and total >= self._min_score:
                if governed is None:
                    governed = polarity.governed(units)
                spans, moves = governed.spans.get(name), governed.moves.get(name)
                if spans:
                    total, steady_total, found = self._label(name, mine, enclosure, units, spans)
            not_words = _NO_WORDS
            if (total > 0 or moves) and name in self._filtered:
                kept, not_words = self._filter(name, norm, mine)
                if len(kept) < len(mine) or not_words:
                    mine = kept
                    total, steady_total, found = self._label(name, mine, enclosure, units, spans, not_words)
            if moves:
                for to, factor, (value, _, where) in self._moved(
                    name, mine, moves, enclosure, units, not_words
                ):
                    if value > 0:
                        moved[to] = moved.get(to, 0.0) + value * factor
                        moved_found.setdefault(to, []).extend(where)
            if total <= 0:
                continue
            totals[name] = total
            if len(found) == 1:  # the common case, without the sort and the dict
                keywords[name] = (found[0][1],)
            elif found:
                keywords[name] = tuple(dict.fromkeys(t for _, t in sorted(found)))
            if name in self._watched:
                steady[name] = steady_total
                firm[name] = self._firm(
                    name, mine, steady_total, enclosure, units, spans, doubtful, not_words
                )
        for to, value in moved.items():
            totals[to] = totals.get(to, 0.0) + value
            shown = [t for _, t in sorted(moved_found[to])]
            keywords[to] = tuple(dict.fromkeys((*keywords.get(to, ()), *shown)))
        if not totals:
            return Scores(self._zero, keywords)
        row = self._zero_row.copy()
        row.update(totals)
        return Scores(tuple(row.items()), keywords, firm, steady)

    def _moved(
        self,
        name: str,
        mine: list[_Hit],
        moves: list[Move],
        enclosure: _Enclosure,
        units: Units,
        not_words: frozenset[str],
    ) -> list[tuple[str, float, tuple[float, float, list[tuple[int, str]]]]]:
        """(to label, factor, its score and texts) for the label's evidence inside each kind of move."""
        out = []
        for to, factor in dict.fromkeys((to, factor) for _, _, to, factor in moves):
            inside = [h for h in mine if any(s <= h[1] < e for s, e, t, f in moves if (t, f) == (to, factor))]
            if inside:
                out.append((to, factor, self._label(name, inside, enclosure, units, None, not_words)))
        return out

    def _firm(
        self,
        name: str,
        mine: list[_Hit],
        steady: float,
        enclosure: _Enclosure,
        units: Units,
        spans: list[Span] | None,
        doubtful: Sequence[tuple[int, int]],
        not_words: frozenset[str],
    ) -> float:
        """The label's score from hits no polarity cue governs and no sound-alike correction made."""
        sure = mine
        if spans:  # even a cue with factor 1 leaves the evidence it governs uncertain
            sure = [h for h in sure if not any(s <= h[1] < e for s, e, _ in spans)]
        if doubtful:
            sure = [h for h in sure if not touches(h, doubtful)]
        if len(sure) == len(mine):
            return steady
        return self._label(name, sure, enclosure, units, None, not_words)[0]

    def _label(
        self,
        name: str,
        mine: list[_Hit],
        enclosure: _Enclosure,
        units: Units,
        spans: list[Span] | None,
        not_words: frozenset[str] = _NO_WORDS,
    ) -> tuple[float, float, list[tuple[int, str]]]:
        """One label's score, its steady part (evidence no cue lowered) and the matched keyword texts
        (with positions) from its hits.

        `not_words`: whole-word literals jieba did not cut as words here; they still count as parts
        of combinations (冒灰烟: 冒 + 烟), never as keywords on their own.
        """
        table = self._table[name]
        rules = self._rules
        best: dict[str, tuple[float, int]] = {}  # plain keyword literal -> (factor, first position)
        # Combinations: first over the whole message (rule -> mask, and its parts' hits); only those
        # complete there are then checked clause by clause, which is the rarer, slower question.
        masks: dict[int, int] = {}
        parts: dict[int, list[tuple[int, float, int]]] = {}  # rule -> (bits, factor, position)
        factor = 1.0
        for hit in mine:
            lit, start = hit
            if spans:
                factor = factor_at(spans, start)
                if factor <= 0:
                    continue
            alone = (labels := enclosure.get(hit)) is None or name in labels
            single, combos = table[lit]
            if alone and single is not None and lit not in not_words:
                seen = best.get(lit)
                if seen is None:
                    best[lit] = (factor, start)
                elif factor > seen[0]:
                    best[lit] = (factor, seen[1])
            for rid, bits in combos:
                if not alone and rules[rid].needs_alone:
                    continue
                masks[rid] = masks.get(rid, 0) | bits
                seen_parts = parts.get(rid)
                if seen_parts is None:
                    parts[rid] = [(bits, factor, start)]
                else:
                    seen_parts.append((bits, factor, start))
        total = steady = 0.0
        found: list[tuple[int, str]] = []
        for lit, (factor, start) in best.items():
            weight, texts = table[lit][0]  # type: ignore[misc]  # only plain keywords are in best
            total += weight * factor
            if factor == 1.0:
                steady += weight
            for text in texts:
                found.append((start, text))
        # Complete combinations add up in the order their first part was hit.
        for rid, mask in masks.items():
            rule = rules[rid]
            if mask == rule.full and (met_at := met(rule, parts[rid], units)) is not None:
                factor, start = met_at
                total += rule.weight * factor
                if factor == 1.0:
                    steady += rule.weight
                found.append((start, rule.text))
        return total, steady, found

    def _filter(self, name: str, norm: str, mine: list[_Hit]) -> tuple[list[_Hit], frozenset[str]]:
        """The label's hits outside its exclusions, and its whole-word literals jieba does not cut as
        words in this text."""
        pattern = self._exclude.get(name)
        if pattern:
            # Exclusions are regexes: run them only when the label has evidence to lose.
            exclude = self._exclude_rx.get(name)
            if exclude is None:
                exclude = self._exclude_rx[name] = re.compile(pattern)
            spans = [m.span() for m in exclude.finditer(norm)]
            if spans:
                mine = [h for h in mine if not any(s <= h[1] and h[1] + len(h[0]) <= e for s, e in spans)]
        whole = self._whole_word.get(name)
        if not whole:
            return mine, _NO_WORDS
        candidates = {h[0] for h in mine if h[0] in whole}
        return mine, frozenset(lit for lit in candidates if not self._is_token(norm, lit))

    def _is_token(self, norm: str, word: str) -> bool:
        if self._has_token is not None:
            return self._has_token(norm, word)
        if self._tokenize is None:
            return False
        return on_token_bounds(self._tokenize(norm), norm, word)

    def decide(self, scores: Scores) -> Decision:
        """Pick the winning label, or None when there is no or no clear winner."""
        return decide(scores, self.rules.settings, self._precedence)

    def certainty(self, scores: Scores, decision: Decision, label: str) -> str:
        """How sure the decision is about `label`: "certain", "possible" or "none" (see evidence.py)."""
        return certainty(scores, decision, label, self._certain.get(label))

    def predict(self, text: str) -> str | None:
        """Shortcut for evaluation: the decided label or None."""
        return self.decide(self.score(text)).label
