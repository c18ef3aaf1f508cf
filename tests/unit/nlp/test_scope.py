"""Scope and polarity: clauses, negation, resolution, the past, hypotheticals, talk about drills,
a caller's story, whole words, and how sure an emergency is. Fresh sentences, none from a data set."""

from __future__ import annotations

import random
import re

import pytest

from nlp import Category, EmergencyLevel, RuleClassifier
from nlp.scope import Units, _alternation, parse_polarity


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # negation: the cue cancels what follows it in its clause, up to a contrast
        ("不是着火，是在熏香肠", Category.UNKNOWN),
        ("厨房没冒烟 就是跳闸了", Category.REPAIR),
        ("燃气灶一直不打火 不漏气", Category.REPAIR),
        ("热水器漏水 跟燃气没关系", Category.REPAIR),  # the denial comes after what it denies
        ("是不是着火了 楼道好呛", Category.EMERGENCY),  # a question about a fire is still a fire
        # resolution and praise: what was, is over
        ("上周三的煤气泄漏已经处理好了 谢谢", Category.OTHER),
        ("电梯关人那事 人早就救出来了 表扬一下保安", Category.OTHER),
        # the past lowers: it can no longer win outright
        ("插线板上礼拜冒过火花 现在停电了", Category.REPAIR),
        # a hypothetical fire is a hazard
        ("楼道堆满纸箱 万一起火跑不出去", Category.SAFETY_HAZARD),
        # talk about a drill, a mistaken alarm, a caller's story
        ("社区下周搞燃气泄漏应急演练 在哪报名", Category.OTHER),
        ("收到短信说我家孩子出车祸了 要我打钱 是骗子吧", Category.FRAUD),
        # a combination must meet in one clause: 电梯 + 困 here are two different things
        ("电梯停了，我在家困了两天", Category.REPAIR),
        ("在家困了好几天 下不了楼 电梯坏了", Category.REPAIR),
        ("水龙头坏了一直漏", Category.REPAIR),  # a tap dripping is no gas leak
        # indirect emergencies
        ("五楼那家孩子爬到窗户外面的空调架上了", Category.EMERGENCY),
        ("小区鱼塘里有个人掉下去了 没上来", Category.EMERGENCY),
        ("🔥 楼梯口全是烟 @全体业主", Category.EMERGENCY),
    ],
)
def test_scope_and_polarity(classifier: RuleClassifier, text: str, category: Category) -> None:
    assert classifier.classify(text).category is category


def test_a_mistaken_alarm_is_no_emergency(classifier: RuleClassifier) -> None:
    assert classifier.classify("我以为着火了 原来是邻居家蒸馒头").category is not Category.EMERGENCY
    assert classifier.classify("吓死了 隔壁着火了").category is Category.EMERGENCY


def test_keywords_match_whole_words(classifier: RuleClassifier) -> None:
    # 脏 (dirty) inside 心脏 (heart) is no sanitation complaint.
    assert classifier.classify("心脏不太舒服").category is not Category.SANITATION
    assert classifier.classify("楼道太脏了").category is Category.SANITATION


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("厨房着火了 快来人", EmergencyLevel.CERTAIN),
        ("🆘", EmergencyLevel.POSSIBLE),  # an emoji alone: ask the resident
        ("楼道里冒眼了", EmergencyLevel.POSSIBLE),  # a sound-alike
        ("燃气费怎么交", EmergencyLevel.NONE),
        ("不是着火，是在熏香肠", EmergencyLevel.NONE),
    ],
)
def test_emergency_level(classifier: RuleClassifier, text: str, level: EmergencyLevel) -> None:
    assert classifier.classify(text).emergency_level is level


def test_clauses_end_at_punctuation_and_spaces() -> None:
    units = Units("电梯坏了 我在家,困了。好")
    assert [units.unit("clause", i) for i in (0, 5, 9, 12)] == [0, 1, 2, 3]
    assert [units.unit("sentence", i) for i in (0, 5, 9, 12)] == [0, 0, 0, 1]
    assert units.unit("message", 12) == 0


def test_cue_scopes() -> None:
    polarity = parse_polarity(
        "<test>",
        {
            "neutral": ["是不是"],
            "stop": ["是"],
            "kinds": {
                "neg": {"cues": ["不是"], "scope": "after", "max_chars": 4, "factor": 0, "labels": ["e"]},
                "res": {"cues": ["修好了"], "scope": "before", "factor": 0, "labels": ["e"]},
                "if": {
                    "cues": ["万一"],
                    "scope": "next",
                    "factor": 0,
                    "labels": ["e"],
                    "becomes": {"s": 0.5},
                },
            },
        },
        labels={"e", "s"},
    )
    assert polarity is not None
    text = "不是着火是烧香"
    assert polarity.governed(Units(text)).spans["e"] == [(2, 4, 0.0)]  # stops at the contrast 是
    assert not polarity.governed(Units("是不是着火")).spans  # a question, not a negation
    text = "漏气 修好了 谢谢"
    assert polarity.governed(Units(text)).spans["e"] == [(0, 6, 0.0)]  # its clause and all before
    governed = polarity.governed(Units("万一着火 跑不出去 怎么办"))
    assert governed.spans["e"] == [(2, 9, 0.0)]  # the rest of its clause and the next one
    assert governed.moves["e"] == [(2, 9, "s", 0.5)]


def test_cues_inside_keywords_are_found_as_a_plain_search_finds_them() -> None:
    """`around` looks up each keyword's substrings among the cues; the result is the plain definition's
    (a cue occurring in the keyword after its first character), on the shipped rules and odd words."""
    from nlp.classifier import DEFAULT_RULES
    from nlp.rules import load_rules

    rules = load_rules(DEFAULT_RULES)
    polarity = rules.polarity
    assert polarity is not None
    cues = {cue for kind in polarity.kinds for cue in kind.cues}
    keywords = [p for c in rules.categories for k in c.keywords for p in k.parts]
    odd = [
        *sorted(cues),
        *(f"x{cue}" for cue in sorted(cues)),
        *(f"x{cue}yz" for cue in sorted(cues)),
        "x",
        "",
    ]
    for words in (keywords, odd):
        plain = sorted(w for w in words if any(cue in w[1:] for cue in cues))
        assert polarity.around(words).neutral == (*polarity.neutral, *plain)
    assert len(polarity.around(odd).neutral) > len(polarity.neutral) + len(cues)  # the check can fail


def test_the_grouped_alternation_matches_as_the_plain_longest_first_one() -> None:
    rng = random.Random(7)
    words = {"没", "没有", "没有人", "不", "不是", "有人", "人说", "a.b", "a", "听说", "说"}
    plain = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
    grouped = _alternation(words)
    assert grouped is not None
    for _ in range(2000):
        text = "".join(rng.choices("没有人不是说听a.bx", k=rng.randint(0, 12)))
        assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in plain.finditer(text)], text
