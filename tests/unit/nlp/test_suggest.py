from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest
import yaml

from nlp.engine import RuleEngine
from nlp.quality.suggest import (
    MIN_WEIGHT,
    rank_keywords,
    select_keywords,
    suggest_keywords,
    to_rules_data,
    to_rules_yaml,
)
from nlp.rules import parse_rules

SEGMENTS: dict[str, list[str]] = {}


def cut(text: str) -> list[str]:
    """The tests choose the tokens: messages are written with spaces between them."""
    return SEGMENTS[text]


def rows(*groups: tuple[str, str, int]) -> list[tuple[str, str]]:
    for spaced, _, _ in groups:
        SEGMENTS["".join(spaced.split(" "))] = spaced.split(" ")
    return [("".join(spaced.split(" ")), label) for spaced, label, n in groups for _ in range(n)]


DATA = rows(
    ("小区 停车位 不够 车 没 地方 停", "parking", 6),
    ("门口 停车位 被 占 了", "parking", 2),
    ("楼道 灯 坏 了 找人 维修", "repair", 6),
    ("小区 水管 漏水 维修", "repair", 4),
    ("小区 垃圾 没人 清理", "sanitation", 3),
)


def tokens(result: dict, label: str) -> list[str]:
    return [s.token for s in result[label]]


def test_specific_and_frequent_words_rank_first() -> None:
    result = suggest_keywords(DATA, cut, top=3, phrases=False)
    assert tokens(result, "parking")[0] == "停车位"  # in all 8 parking messages, nowhere else
    assert tokens(result, "repair")[0] == "维修"
    assert "小区" not in tokens(result, "parking")  # in every label: not a keyword of any
    assert all(len(items) <= 3 for items in result.values())


def test_counts_are_substring_matches_like_the_engine() -> None:
    # jieba may cut 停车位 out of 停车位置 differently; the engine still matches it there.
    data = [*DATA, *rows(("门口 停车位置 满 了", "parking", 1))]
    ranked = rank_keywords(data, cut, phrases=False)
    by_token = {s.token: s for s in ranked.by_label["parking"]}
    assert by_token["停车位"].count == 9


def test_phrases_of_adjacent_words() -> None:
    with_phrases = suggest_keywords(DATA, cut, top=50)
    assert "楼道灯" in tokens(with_phrases, "repair")  # 灯 alone is too short, the phrase is not
    assert "水管漏水" in tokens(with_phrases, "repair")
    without = suggest_keywords(DATA, cut, top=50, phrases=False)
    assert not {"楼道灯", "水管漏水"} & set(tokens(without, "repair"))


def test_weights_are_bounded_and_rounded() -> None:
    result = suggest_keywords(DATA, cut, top=50, max_weight=1.5)
    weights = [s.weight for items in result.values() for s in items]
    assert weights
    assert all(MIN_WEIGHT <= w <= 1.5 for w in weights)
    assert all(round(w, 1) == w for w in weights)
    assert max(weights) == 1.5  # sanitation's words (1.9 unclipped) are clipped
    assert {s.weight for s in result["sanitation"]} == {1.5}


def test_min_count_and_positive_association() -> None:
    result = suggest_keywords(DATA, cut, top=50, min_count=3)
    assert all(s.count >= 3 for items in result.values() for s in items)
    assert "门口" not in tokens(result, "parking")  # only 2 messages
    # Every proposal is more frequent in its label than elsewhere.
    ranked = rank_keywords(DATA, cut)
    assert all(s.weight > 0 for items in ranked.by_label.values() for s in items)


def test_scale_by_size_shares_keywords_by_label_size() -> None:
    ranked = rank_keywords(DATA, cut, min_count=1, phrases=False)
    fixed = select_keywords(ranked, 2)
    scaled = select_keywords(ranked, 2, scale_by_size=True)
    assert {label: len(items) for label, items in fixed.items()} == {
        "parking": 2,
        "repair": 2,
        "sanitation": 2,
    }
    # 21 messages, 3 labels, 6 keywords in all: parking 8/21, repair 10/21, sanitation 3/21.
    assert {label: len(items) for label, items in scaled.items()} == {
        "parking": 2,
        "repair": 3,
        "sanitation": 1,
    }


def test_output_is_a_rules_file_the_engine_runs() -> None:
    result = suggest_keywords(DATA, cut, top=10)
    text = to_rules_yaml(result, {"repair": "high"}, min_score=0.0, ambiguity_margin=0.0)
    assert text.startswith("# Suggested by `gridbot rules suggest`")
    rules = parse_rules(yaml.safe_load(text), source="suggested")
    assert parse_rules(to_rules_data(result, {"repair": "high"}, 0.0, 0.0)).categories == rules.categories
    assert {c.name: c.priority for c in rules.categories}["repair"] == "high"
    engine = RuleEngine(rules)
    for message, label in set(DATA):
        assert engine.predict(message) == label


def test_empty_input() -> None:
    assert suggest_keywords([], cut) == {}


TAIDI = Path(os.environ.get("GRIDBOT_SHARED_DATA") or Path(__file__).resolve().parents[4] / "shared/data")


@pytest.mark.skipif(not (TAIDI / "taidi2020_messages.csv").exists(), reason="external data set not available")
def test_real_messages_give_loadable_rules_in_seconds() -> None:
    """Mining only (no scoring: the benchmark owns the split); the file is read, never copied."""
    from nlp.tokenizer import Tokenizer

    with (TAIDI / "taidi2020_messages.csv").open(encoding="utf-8", newline="") as fh:
        data = [(r["text"], r["label"]) for _, r in zip(range(600), csv.DictReader(fh), strict=False)]
    tokenizer = Tokenizer()
    tokenizer.warm_up()
    started = time.perf_counter()
    result = suggest_keywords(data, tokenizer.cut, top=30, scale_by_size=True)
    assert time.perf_counter() - started < 30
    rules = parse_rules(yaml.safe_load(to_rules_yaml(result)), source="suggested")
    assert len(rules.categories) >= 2
