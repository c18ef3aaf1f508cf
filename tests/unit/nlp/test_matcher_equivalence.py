"""The fast matcher and scoring paths against plain reference implementations, on generated text.

The reference scorer is the straightforward algorithm the engine's precomputed tables replace: find
every hit, work out for each hit which longer hits enclose it, evaluate each label's keywords over
its hits, then drop hits inside exclusions and whole-word hits jieba does not cut, and re-evaluate.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from nlp import RuleClassifier
from nlp.engine import RuleEngine, Scores, on_token_bounds
from nlp.matcher import LiteralIndex
from nlp.normalise import normalise
from nlp.rules import CategoryRules, Keyword, RuleSet, parse_rules
from nlp.scope import CLAUSE_BREAK, SENTENCE_BREAK, Polarity, Units

FILLER = "的了是我在有人这个那吗呢啊，。！？ 123-#栋号楼单元室abc"


def reference_hits(literals: set[str], text: str) -> list[tuple[str, int]]:
    hits = [
        (lit, i) for i in range(len(text)) for lit in literals if text.startswith(lit, i)
    ]  # every occurrence of every literal
    return sorted(hits, key=lambda h: (h[1], -len(h[0])))


_AROUND: dict[int, Polarity] = {}


def _around(rules: RuleSet, owners: dict[str, set[str]]) -> Polarity:
    """The rules' polarity with keywords containing a cue made neutral (built once per rule set)."""
    assert rules.polarity is not None
    if id(rules) not in _AROUND:
        governs = rules.polarity.labels
        _AROUND[id(rules)] = rules.polarity.around([lit for lit, names in owners.items() if names & governs])
    return _AROUND[id(rules)]


def reference_score(rules: RuleSet, is_word: Callable[[str, str], bool] | None, text: str) -> Scores:
    norm = normalise(text)
    owners: dict[str, set[str]] = {}
    whole = set()
    for cat in rules.categories:
        for kw in cat.keywords:
            for part in kw.parts:
                owners.setdefault(part, set()).add(cat.name)
                if kw.whole_word:
                    whole.add((cat.name, part))
    hits = reference_hits(set(owners), norm)
    enclosing = [
        [owners[o] for o, s in hits if s <= start and start + len(lit) <= s + len(o) and len(o) > len(lit)]
        for lit, start in hits
    ]
    governs = rules.polarity.labels if rules.polarity else frozenset()
    polarity = _around(rules, owners) if rules.polarity else None
    units = Units(norm)

    def unit_of(within: str, pos: int) -> int:
        breaks = CLAUSE_BREAK if within == "clause" else SENTENCE_BREAK
        return sum(1 for m in breaks.finditer(norm) if m.start() <= pos) if within != "message" else 0

    def evaluate(
        cat: CategoryRules, mine: list[int], spans: list[tuple[int, int, float]], not_words: set[str]
    ) -> tuple[float, list[tuple[int, str]]]:
        def factor(i: int) -> float:
            f = 1.0
            for s, e, x in spans:
                if s <= hits[i][1] < e:
                    f *= x
            return f

        live = [i for i in mine if factor(i) > 0]
        alone = [i for i in live if all(cat.name in o for o in enclosing[i])]
        present = {hits[i][0] for i in live}
        total = 0.0
        found: list[tuple[int, str]] = []
        for kw in dict.fromkeys(kw for kw in cat.keywords if len(kw.parts) > 1 and present & set(kw.parts)):
            within = "message" if len(kw.groups) == 1 else kw.within
            usable = alone if len(kw.groups) == 1 else live
            places: dict[int, list[int]] = {}
            for i in usable:
                if hits[i][0] in kw.parts:
                    places.setdefault(unit_of(within, hits[i][1]), []).append(i)
            met = [
                members
                for members in places.values()
                if all(any(hits[i][0] in g for i in members) for g in kw.groups)
            ]
            if met:
                total += kw.weight * max(max(factor(i) for i in members) for members in met)
                found.append((min(hits[i][1] for members in met for i in members), kw.text))
        for kw in cat.keywords:
            if len(kw.parts) == 1 and kw.parts[0] in present:
                mine_alone = [i for i in alone if hits[i][0] == kw.parts[0] and kw.parts[0] not in not_words]
                if mine_alone:
                    total += kw.weight * max(factor(i) for i in mine_alone)
                    found.append((hits[mine_alone[0]][1], kw.text))
        return total, found

    result = []
    keywords: dict[str, tuple[str, ...]] = {}
    moved: dict[str, float] = {}
    moved_found: dict[str, list[tuple[int, str]]] = {}
    for cat in rules.categories:
        mine = [i for i, (lit, _) in enumerate(hits) if cat.name in owners[lit]]
        total, found = evaluate(cat, mine, [], set())
        spans: list[tuple[int, int, float]] = []
        moves: list[tuple[int, int, str, float]] = []
        if polarity is not None and cat.name in governs and total >= rules.settings.min_score:
            governed = polarity.governed(units)
            spans, moves = governed.spans.get(cat.name, []), governed.moves.get(cat.name, [])
            total, found = evaluate(cat, mine, spans, set())
        not_words: set[str] = set()
        if (total > 0 or moves) and (cat.exclude or any(n == cat.name for n, _ in whole)):
            if cat.exclude:
                merged = re.compile("|".join(f"(?:{rx.pattern})" for rx in cat.exclude))
                excluded = [m.span() for m in merged.finditer(norm)]
                mine = [
                    i
                    for i in mine
                    if not any(s <= hits[i][1] and hits[i][1] + len(hits[i][0]) <= e for s, e in excluded)
                ]
            not_words = {
                hits[i][0]
                for i in mine
                if (cat.name, hits[i][0]) in whole and not (is_word and is_word(norm, hits[i][0]))
            }
            total, found = evaluate(cat, mine, spans, not_words)
        for to, f in dict.fromkeys((t, x) for _, _, t, x in moves):
            inside = [
                i for i in mine if any(s <= hits[i][1] < e for s, e, t, x in moves if (t, x) == (to, f))
            ]
            value, where = evaluate(cat, inside, [], not_words)
            if inside and value > 0:
                moved[to] = moved.get(to, 0.0) + value * f
                moved_found.setdefault(to, []).extend(where)
        result.append((cat.name, max(total, 0.0)))
        if total > 0 and found:
            keywords[cat.name] = tuple(dict.fromkeys(t for _, t in sorted(found)))
    result = [(name, value + moved.get(name, 0.0)) for name, value in result]
    for to in moved:
        shown = [t for _, t in sorted(moved_found[to])]
        keywords[to] = tuple(dict.fromkeys((*keywords.get(to, ()), *shown)))
    return Scores(tuple(result), keywords)


def generate(literals: list[str], rng: random.Random, count: int) -> list[str]:
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            roll = rng.random()
            if roll < 0.5:
                parts.append(rng.choice(literals))
            elif roll < 0.7:
                lit = rng.choice(literals)
                cut = rng.randint(0, len(lit))
                parts.append(lit[:cut] if rng.random() < 0.5 else lit[cut:])
            else:
                parts.append("".join(rng.choices(FILLER, k=rng.randint(1, 4))))
        texts.append("".join(parts))
    return texts


def assert_same(a: Scores, b: Scores) -> None:
    assert a.keywords == b.keywords
    assert [n for n, _ in a.scores] == [n for n, _ in b.scores]
    for (_, x), (_, y) in zip(a.scores, b.scores, strict=True):
        assert x == pytest.approx(y, abs=1e-9)


def test_scan_finds_every_occurrence_in_order() -> None:
    literals = {"火", "着火", "着火了", "火灾", "灾", "a", "ab", "abc", "bc", "c", "电梯", "梯"}
    index = LiteralIndex(literals)
    rng = random.Random(1)
    for text in generate(sorted(literals), rng, 2000):
        assert index.scan(text) == reference_hits(literals, text)
        assert [(h.literal, h.start) for h in index.find(text)] == index.scan(text)


SYNTHETIC = {
    "settings": {"override": {"a": 2.0}, "certain": {"a": 3.0}},
    "polarity": {
        "neutral": ["是不是"],
        "stop": ["是"],
        "kinds": {
            "negation": {
                "cues": ["不是", "没"],
                "scope": "after",
                "max_chars": 4,
                "factor": 0,
                "labels": ["a"],
            },
            "past": {"cues": ["昨天"], "scope": "clause", "factor": 0.5, "labels": ["a", "c"]},
            "maybe": {"cues": ["万一"], "scope": "next", "factor": 0, "labels": ["a"], "becomes": {"b": 0.5}},
        },
    },
    "categories": {
        "a": {
            "keywords": [
                "着火",
                {"text": "火", "whole_word": True},
                {"all": ["火", ["电线", "插座"]], "weight": 3},
                {"all": ["火", ["电线", "插座"]], "weight": 3},  # duplicate rule: counts once
                {"all": [["冒烟", "着火了"]], "weight": 2},
                {"all": ["冒烟", "楼道"], "weight": 2, "within": "sentence"},
                {"all": ["燃气", "味"], "within": "message"},
                {"words": ["燃气", "燃气"], "weight": 0.7},  # duplicate plain keyword: counts twice
            ],
            "exclude": ["不是着火", "防火"],
        },
        "b": {
            "keywords": ["燃气费", {"all": ["燃气", "交"], "weight": 2}, {"text": "停", "whole_word": True}],
        },
        "c": {"keywords": ["电线", "着火了", {"text": "交", "weight": 0.3}, {"all": ["火", "灾"]}]},
    },
}
FILLER_WORDS = ["不是", "没", "昨天", "万一", "是不是", "是", "。", "，", " ", "楼道", "味"]


@pytest.mark.parametrize("synthetic", [False, True])
def test_engine_matches_reference_scorer(classifier: RuleClassifier, synthetic: bool) -> None:
    tokenizer = classifier.tokenizer
    rules = parse_rules(SYNTHETIC) if synthetic else classifier.rules
    literals = sorted({p for c in rules.categories for kw in c.keywords for p in kw.parts})
    fast = RuleEngine(rules, tokenizer.cut, tokenizer.has_token)
    plain = RuleEngine(rules, tokenizer.cut)
    untokenized = RuleEngine(rules)

    def whole_text(text: str, word: str) -> bool:
        return on_token_bounds(tokenizer.cut(text), text, word)  # the engine's fallback: cut() as given

    rng = random.Random(7)
    for text in generate([*literals, *FILLER_WORDS], rng, 1500):
        assert_same(fast.score(text), reference_score(rules, tokenizer.has_token, text))
        assert_same(plain.score(text), reference_score(rules, whole_text, text))
        assert_same(untokenized.score(text), reference_score(rules, None, text))


def test_has_token_agrees_with_cut(classifier: RuleClassifier) -> None:
    # has_token segments a window around each occurrence with dictionary words only; on texts shorter
    # than the window that is the whole text, so it must agree with cut(hmm=False) exactly.
    tokenizer = classifier.tokenizer
    rng = random.Random(3)
    words = ["火", "停", "烟", "刀", "血", "着火", "人倒了", "a1", "-"]
    for text in generate([*words, "停车", "火灾", "冒烟了", "有人", "a1-2"], rng, 500):
        if len(text) > 6:
            text = text[:6]
        for word in words:
            expected = on_token_bounds(tokenizer.cut(text, hmm=False), text, word)
            assert tokenizer.has_token(text, word) == expected, (text, word)


def test_has_token_needs_token_boundaries_at_both_ends(classifier: RuleClassifier) -> None:
    has_token = classifier.tokenizer.has_token
    assert has_token("他们在手工作坊上班", "工作") is False  # 手工 / 作坊
    assert has_token("我在一家公司工作", "工作") is True
    assert has_token("有人倒了一堆建筑垃圾", "人倒了") is False  # 有人 / 倒 / 了
    assert has_token("电线漏电 人倒了", "人倒了") is True  # a phrase of several tokens counts whole


def test_keyword_objects_are_compared_by_value() -> None:
    # The engine's "equal co-occurrence rules count once" relies on Keyword equality.
    assert Keyword(("a", "b"), 1.0) == Keyword(("a", "b"), 1.0)
