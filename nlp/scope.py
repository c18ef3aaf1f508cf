"""Scope and polarity: which words belong together, and which words cancel or weaken the evidence they govern.

A message is cut into clauses at punctuation and spaces (chat writes a space where a comma would be)
and into sentences at 。！？. Word combinations must meet inside one clause, unless a rule asks for a
sentence or the whole message ("电梯停在两层中间 我妈在里头").

Polarity cues are data (`polarity:` in the rules file). Each kind of cue governs a span of the text and
multiplies the weight of the governed hits of some labels: 0 cancels them (不是着火, 已经救出来了, 演练),
0.5 lowers them (昨天, someone "said on the phone"), 1 keeps the weight but marks the evidence as not
certain. Scopes:

- ``after``: from the cue to the end of its clause, at most `max_chars`, stopping at a contrast
  ("不是着火 是烧香": 着火 is governed, 烧香 is not);
- ``lead``: from the start of its clause to the cue ("跟煤气没关系");
- ``clause``: the whole clause around the cue (演练, 宣传: "电梯困人应急演练");
- ``next``: the rest of the clause and the whole next one ("万一着火 大家往上跑出不去");
- ``before``: everything up to the end of the cue's clause ("电梯困人的 人已经救出来了");
- ``rest``: everything after the cue ("有人打电话说 ...": the caller's story);
- ``message``: the whole message ("想申请帮扶": paperwork, not an emergency in progress).

`neutral` lists words that contain a cue but are none (是不是, 有没有, 害怕); `stop` the contrasts.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nlp.errors import RulesError
from nlp.normalise import normalise

# After normalise() the full-width ，。！？；： are ASCII (except 。 and 、).
CLAUSE_BREAK = re.compile(r"[,，.。!！?？;；:：~、…\s]+")
SENTENCE_BREAK = re.compile(r"[.。!！?？…\n]+")
SCOPES = ("after", "lead", "clause", "next", "before", "rest", "message")
WITHIN = ("clause", "sentence", "message")

# A governed span: (start, end, factor) over the normalised text.
Span = tuple[int, int, float]


class Units:
    """Clause and sentence numbers of positions in one message (computed once per message)."""

    __slots__ = ("_clause_ends", "_sentence_ends", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._clause_ends: list[int] | None = None
        self._sentence_ends: list[int] | None = None

    @property
    def clause_ends(self) -> list[int]:
        """Start of each clause break; clause i spans [ends[i-1]'s break end, ends[i])."""
        if self._clause_ends is None:
            self._clause_ends = [m.start() for m in CLAUSE_BREAK.finditer(self.text)]
        return self._clause_ends

    def unit(self, within: str, pos: int) -> int:
        """The number of the clause / sentence holding `pos` (0 for the whole message)."""
        if within == "clause":
            return bisect_right(self.clause_ends, pos)
        if within == "sentence":
            if self._sentence_ends is None:
                self._sentence_ends = [m.start() for m in SENTENCE_BREAK.finditer(self.text)]
            return bisect_right(self._sentence_ends, pos)
        return 0

    def clause_span(self, pos: int) -> tuple[int, int]:
        """(start, end) of the clause holding `pos`."""
        ends = self.clause_ends
        i = bisect_right(ends, pos)
        start = 0
        if i > 0:
            m = CLAUSE_BREAK.match(self.text, ends[i - 1])
            start = m.end() if m else ends[i - 1]
        end = ends[i] if i < len(ends) else len(self.text)
        return start, end


@dataclass(frozen=True)
class CueKind:
    name: str
    cues: tuple[str, ...]
    scope: str
    factor: float
    labels: frozenset[str]
    max_chars: int | None = None
    # Evidence this kind governs that becomes evidence for another label, at a factor: a fire that
    # might break out ("万一着火") is a hazard, not an emergency.
    becomes: tuple[tuple[str, float], ...] = ()


# A move of governed evidence: (start, end, to label, factor).
Move = tuple[int, int, str, float]


@dataclass(frozen=True)
class Governed:
    """What the cues of one message govern: label -> spans with factors, label -> moves elsewhere."""

    spans: dict[str, list[Span]]
    moves: dict[str, list[Move]]


_NOTHING = Governed({}, {})


class Polarity:
    """The polarity cues of a rule set, compiled into one regex."""

    def __init__(
        self, kinds: Sequence[CueKind], neutral: Sequence[str] = (), stop: Sequence[str] = ()
    ) -> None:
        self.kinds = tuple(kinds)
        self.neutral = tuple(neutral)
        self.stop = tuple(stop)
        kind_of: dict[str, CueKind | None] = dict.fromkeys(neutral)
        for kind in self.kinds:
            for cue in kind.cues:
                kind_of.setdefault(cue, kind)
        self._kind_of = kind_of
        self._rx: re.Pattern[str] | None = None  # compiled on first use: hundreds of alternatives
        self._stop_rx = _alternation(stop)
        self.labels = frozenset(label for kind in self.kinds for label in kind.labels)

    def around(self, keywords: Collection[str]) -> Polarity:
        """The same cues, with every keyword that contains one after its first character made neutral:
        a cue inside a keyword is part of it (晕过去 is not the past). One a keyword starts with still
        governs what follows (没看见烟: 烟 is negated, whatever 没看见 means)."""
        cues = {cue for kind in self.kinds for cue in kind.cues}
        # Each keyword's own substrings are looked up among the cues (keywords are a few characters
        # long), rather than every cue searched in every keyword: linear in the number of keywords.
        longest = max(map(len, cues), default=0)
        inside = [
            w
            for w in keywords
            if any(
                w[i:j] in cues for i in range(1, len(w)) for j in range(i + 1, min(len(w), i + longest) + 1)
            )
        ]
        return Polarity(self.kinds, (*self.neutral, *sorted(inside)), self.stop)

    def governed(self, units: Units) -> Governed:
        """The spans each label's evidence is governed in, and where governed evidence moves."""
        if self._rx is None:
            if not self._kind_of:
                return _NOTHING
            # Longest first, so at each position a neutral word or a longer cue wins over a cue inside it.
            self._rx = _alternation(self._kind_of)
            assert self._rx is not None
        spans: dict[str, list[Span]] = {}
        moves: dict[str, list[Move]] = {}
        for m in self._rx.finditer(units.text):
            kind = self._kind_of[m.group()]
            if kind is None:
                continue
            start, end = self._span(kind, m.start(), m.end(), units)
            if start < end:
                for label in kind.labels:
                    spans.setdefault(label, []).append((start, end, kind.factor))
                    for to, factor in kind.becomes:
                        moves.setdefault(label, []).append((start, end, to, factor))
        return Governed(spans, moves) if spans else _NOTHING

    def _span(self, kind: CueKind, start: int, end: int, units: Units) -> tuple[int, int]:
        c_start, c_end = units.clause_span(start)
        if kind.scope == "clause":
            return c_start, c_end
        if kind.scope == "lead":
            return c_start, start
        if kind.scope == "before":
            return 0, c_end
        if kind.scope == "rest":
            return end, len(units.text)
        if kind.scope == "message":
            return 0, len(units.text)
        if kind.scope == "next":
            after = CLAUSE_BREAK.match(units.text, c_end)
            if after is None or after.end() >= len(units.text):
                return end, c_end
            return end, units.clause_span(after.end())[1]
        stop_end = c_end if kind.max_chars is None else min(c_end, end + kind.max_chars)
        if self._stop_rx is not None:
            stop = self._stop_rx.search(units.text, end, stop_end)
            if stop is not None:
                stop_end = stop.start()
        return end, stop_end


def _alternation(words: Collection[str]) -> re.Pattern[str] | None:
    """A pattern matching the longest of `words` at the leftmost place.

    The words are grouped by their first character, longest first within a group (没(?:有人|有|)):
    the regex engine tries the alternatives of a branch one by one at each place, so it reads one per
    first character instead of one per word, about half the cost with the polarity cues; the matches
    are those of the plain longest-first alternation."""
    if not words:
        return None
    rests: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        rests.setdefault(word[0], []).append(re.escape(word[1:]))
    return re.compile("|".join(f"{re.escape(first)}(?:{'|'.join(rest)})" for first, rest in rests.items()))


def factor_at(spans: Sequence[Span], pos: int) -> float:
    """The product of the factors of the spans holding `pos` (1.0 when none does): independent cues
    add up ("昨天 ... 电话里说": the past and a caller's story)."""
    factor = 1.0
    for start, end, f in spans:
        if start <= pos < end:
            factor *= f
    return factor


def parse_polarity(source: str, raw: Any, labels: Collection[str]) -> Polarity | None:
    """Validate the `polarity:` section of a rules file (None when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise RulesError(source, "polarity: must be a mapping with 'kinds:'")
    extra = set(raw) - {"neutral", "stop", "kinds"}
    if extra:
        raise RulesError(source, f"polarity: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    kinds_raw = raw.get("kinds") or {}
    if not isinstance(kinds_raw, Mapping):
        raise RulesError(source, "polarity.kinds: must map a kind name to its cues")
    kinds = tuple(_kind(source, str(name), body, labels) for name, body in kinds_raw.items())
    return Polarity(
        kinds=kinds,
        neutral=_words(source, "polarity.neutral", raw.get("neutral") or []),
        stop=_words(source, "polarity.stop", raw.get("stop") or []),
    )


def _kind(source: str, name: str, body: Any, labels: Collection[str]) -> CueKind:
    where = f"polarity.kinds.{name}"
    if not isinstance(body, Mapping):
        raise RulesError(source, f"{where}: must be a mapping with cues, scope, factor and labels")
    extra = set(body) - {"cues", "scope", "factor", "labels", "max_chars", "becomes"}
    if extra:
        raise RulesError(source, f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    scope = body.get("scope")
    if scope not in SCOPES:
        raise RulesError(source, f"{where}.scope: {scope!r} is not one of {', '.join(SCOPES)}")
    factor = body.get("factor")
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 <= factor <= 1:
        raise RulesError(source, f"{where}.factor: must be a number from 0 to 1, got {factor!r}")
    governed = _words(source, f"{where}.labels", body.get("labels"))
    unknown = [label for label in governed if label not in labels]
    if unknown or not governed:
        raise RulesError(source, f"{where}.labels: must name categories with rules, got {list(governed)}")
    max_chars = body.get("max_chars")
    if max_chars is not None and (
        isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1
    ):
        raise RulesError(source, f"{where}.max_chars: must be a positive integer")
    cues = _words(source, f"{where}.cues", body.get("cues"))
    if not cues:
        raise RulesError(source, f"{where}.cues: must be a non-empty list")
    becomes_raw = body.get("becomes") or {}
    if not isinstance(becomes_raw, Mapping) or not all(
        k in labels and not isinstance(v, bool) and isinstance(v, int | float) and 0 <= v <= 1
        for k, v in becomes_raw.items()
    ):
        raise RulesError(source, f"{where}.becomes: must map categories with rules to factors from 0 to 1")
    becomes = tuple((str(k), float(v)) for k, v in becomes_raw.items())
    return CueKind(name, cues, scope, float(factor), frozenset(governed), max_chars, becomes)


def _words(source: str, where: str, raw: Any) -> tuple[str, ...]:
    if (
        not isinstance(raw, Sequence)
        or isinstance(raw, str)
        or not all(isinstance(w, str) and w for w in raw)
    ):
        raise RulesError(source, f"{where}: must be a list of non-empty strings")
    return tuple(dict.fromkeys(normalise(w) for w in raw))
