"""The fast matcher and scoring paths against plain reference implementations, on generated text.

The reference scorer is the straightforward algorithm the engine's precomputed tables replace: find
every hit, work out for each hit which longer hits enclose it, evaluate each label's keywords over
its hits, then drop hits inside exclusions and whole-word hits jieba does not cut, and re-evaluate.
"""

from __future__ import annotations

import random

import pytest

from nlp import RuleClassifier
from nlp.engine import RuleEngine, Scores
from nlp.matcher import LiteralIndex
from nlp.normalise import normalise
from nlp.rules import CategoryRules, Keyword, RuleSet, parse_rules

FILLER = "的了是我在有人这个那吗呢啊，。！？ 123-#栋号楼单元室abc"


def reference_hits(literals: set[str], text: str) -> list[tuple[str, int]]:
    hits = [
        (lit, i) for i in range(len(text)) for lit in literals if text.startswith(lit, i)
    ]  # every occurrence of every literal
    return sorted(hits, key=lambda h: (h[1], -len(h[0])))


def reference_score(rules: RuleSet, tokenize: object, text: str) -> Scores:
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

    def evaluate(cat: CategoryRules, mine: list[int]) -> tuple[float, list[tuple[int, str]]]:
        present: dict[str, int] = {}
        alone: set[str] = set()
        for i in mine:
            lit, start = hits[i]
            present.setdefault(lit, start)
            if all(cat.name in o for o in enclosing[i]):
                alone.add(lit)
        total = 0.0
        found: list[tuple[int, str]] = []
        for kw in dict.fromkeys(cat.keywords if len(mine) else ()):
            if len(kw.parts) == 1:
                continue
            if len(kw.groups) == 1:
                ok = any(a in alone for a in kw.groups[0])
            else:
                ok = all(any(a in present for a in g) for g in kw.groups)
            if ok:
                total += kw.weight
                found.append((min(present[p] for p in kw.parts if p in present), kw.text))
        for kw in cat.keywords:
            if len(kw.parts) == 1 and kw.parts[0] in alone:
                total += kw.weight
                found.append((present[kw.parts[0]], kw.text))
        return total, found

    tokens = set(tokenize(norm)) if callable(tokenize) else set()
    result = []
    keywords = {}
    for cat in rules.categories:
        mine = [i for i, (lit, _) in enumerate(hits) if cat.name in owners[lit]]
        total, found = evaluate(cat, mine)
        if total > 0 and cat.exclude:
            spans = [m.span() for rx in cat.exclude for m in rx.finditer(norm)]
            left = [
                i
                for i in mine
                if not any(s <= hits[i][1] and hits[i][1] + len(hits[i][0]) <= e for s, e in spans)
            ]
            if len(left) < len(mine):
                mine = left
                total, found = evaluate(cat, mine)
        if total > 0 and any((cat.name, hits[i][0]) in whole for i in mine):
            left = [i for i in mine if (cat.name, hits[i][0]) not in whole or hits[i][0] in tokens]
            if len(left) < len(mine):
                mine = left
                total, found = evaluate(cat, mine)
        result.append((cat.name, total))
        if found:
            keywords[cat.name] = tuple(dict.fromkeys(t for _, t in sorted(found)))
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
    "settings": {"override": {"a": 2.0}},
    "categories": {
        "a": {
            "keywords": [
                "着火",
                {"text": "火", "whole_word": True},
                {"all": ["火", ["电线", "插座"]], "weight": 3},
                {"all": ["火", ["电线", "插座"]], "weight": 3},  # duplicate rule: counts once
                {"all": [["冒烟", "着火了"]], "weight": 2},
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


@pytest.mark.parametrize("synthetic", [False, True])
def test_engine_matches_reference_scorer(classifier: RuleClassifier, synthetic: bool) -> None:
    tokenizer = classifier.tokenizer
    rules = parse_rules(SYNTHETIC) if synthetic else classifier.rules
    literals = sorted({p for c in rules.categories for kw in c.keywords for p in kw.parts})
    fast = RuleEngine(rules, tokenizer.cut, tokenizer.has_token)
    plain = RuleEngine(rules, tokenizer.cut)
    untokenized = RuleEngine(rules)
    rng = random.Random(7)
    for text in generate(literals, rng, 1500):
        expected = reference_score(rules, tokenizer.cut, text)
        assert_same(fast.score(text), expected)
        assert_same(plain.score(text), expected)
        assert_same(untokenized.score(text), reference_score(rules, None, text))


def test_has_token_agrees_with_cut(classifier: RuleClassifier) -> None:
    tokenizer = classifier.tokenizer
    rng = random.Random(3)
    words = ["火", "停", "烟", "刀", "血", "着火", "a1", "-"]
    for text in generate([*words, "停车", "火灾", "冒烟了", "a1-2"], rng, 500):
        tokens = set(tokenizer.cut(text))
        for word in words:
            assert tokenizer.has_token(text, word) == (word in tokens), (text, word)


def test_keyword_objects_are_compared_by_value() -> None:
    # The engine's "equal co-occurrence rules count once" relies on Keyword equality.
    assert Keyword(("a", "b"), 1.0) == Keyword(("a", "b"), 1.0)
