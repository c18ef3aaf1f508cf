from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nlp import RulesError, load_classifier
from nlp.rules import load_rules, parse_rules


def _rules(**category: Any) -> dict[str, Any]:
    return {"version": 1, "categories": {"repair": {"keywords": ["坏了"], **category}}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "top level must be a mapping"),
        ({"categories": {}}, "non-empty mapping"),
        (
            {"categories": {"repair": {"keywords": []}}},
            "categories.repair.keywords: must be a non-empty list",
        ),
        (_rules(priority="soon"), "categories.repair.priority: 'soon' is not one of"),
        (_rules(keywords=[{"text": "坏了", "weight": "big"}]), "keywords[0].weight: must be a number"),
        (_rules(keywords=[{"text": "坏了", "weight": -1}]), "must not be negative"),
        (_rules(keywords=[120]), "keywords[0]: expected a string or a mapping"),
        (
            _rules(keywords=[{"words": ["a", 120]}]),
            "keywords[0].words[1]: keyword must be a non-empty string",
        ),
        (_rules(keywords=[{"text": "a", "all": ["b"]}]), "exactly one of"),
        (_rules(keywords=[{"txt": "a"}]), "exactly one of"),
        (_rules(exclude=["(unclosed"]), "categories.repair.exclude[0]: invalid regular expression"),
        (_rules(colour="red"), "unknown key(s) colour"),
        ({"version": 2, "categories": {}}, "unsupported version"),
        (
            _rules(keywords=[{"all": ["a", []]}]),
            "keywords[0].all[1]: a list of alternatives must not be empty",
        ),
        (
            _rules(keywords=[{"all": ["a", ["b", 3]]}]),
            "keywords[0].all[1][1]: keyword must be a non-empty string",
        ),
        ({"categories": {"repair": {"keywords": ["a"]}}, "settings": {"override": {"fire": 1}}}, "override"),
    ],
)
def test_invalid_rules_are_reported_with_source_and_place(data: Any, message: str) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(data, source="my.yaml")
    assert str(info.value).startswith("my.yaml: ")
    assert message in str(info.value)


def test_a_new_category_without_a_label_is_refused_for_the_bot(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("categories:\n  fire:\n    keywords: [火]\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"rules\.yaml:2: categories\.fire: a new category needs a label"):
        load_classifier(path)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [unclosed", encoding="utf-8")
    with pytest.raises(RulesError, match="bad.yaml: invalid YAML"):
        load_rules(bad)
    with pytest.raises(RulesError, match="missing.yaml: cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_shipped_rules_are_valid_and_cover_every_category() -> None:
    classifier = load_classifier()
    names = [c.name for c in classifier.rules.categories]
    assert names[0] == "emergency"
    assert len(names) == 13
    priorities = {c.name: c.priority for c in classifier.rules.categories}
    assert priorities["emergency"] == "urgent"
    assert priorities["safety_hazard"] == priorities["assistance"] == "high"
    assert priorities["repair"] == "normal"


def test_custom_rules_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "categories:\n  parking:\n    keywords: [{all: [车, 门口], weight: 2}]\n    exclude: ['没有车']\n",
        encoding="utf-8",
    )
    classifier = load_classifier(path)
    assert classifier.classify("门口有车").category.value == "parking"
    assert classifier.classify("门口").category.value == "unknown"


def test_whole_word_keyword_needs_a_token_boundary(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("categories:\n  other:\n    keywords: [{text: 会, whole_word: true}]\n", encoding="utf-8")
    classifier = load_classifier(path)
    assert classifier.classify("明天开会").category.value == "unknown"  # jieba: 开会, not 会
    assert classifier.classify("会不会来").category.value == "other"


def test_all_with_alternatives_needs_one_word_of_each_group(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "categories:\n  emergency:\n    keywords: [{all: [电梯, [困, 夹], [有人, 里面]], weight: 3}]\n",
        encoding="utf-8",
    )
    rules = load_rules(path)
    (keyword,) = rules.categories[0].keywords
    assert keyword.groups == (("电梯",), ("困", "夹"), ("有人", "里面"))
    assert keyword.text == "电梯+困|夹+有人|里面"
    classifier = load_classifier(path)
    assert classifier.classify("电梯夹了里面一个人").category.value == "emergency"
    assert classifier.classify("电梯困住了有人").category.value == "emergency"
    assert classifier.classify("电梯困住了").category.value == "unknown"  # no person group
    assert classifier.classify("有人在电梯里面").category.value == "unknown"  # no trap group


def test_combinations_meet_in_one_clause_unless_widened(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "categories:\n  emergency:\n    keywords:\n"
        "      - {all: [电梯, 困], weight: 3}\n"
        "      - {all: [楼道, [冒烟, 烟]], weight: 3, within: sentence}\n"
        "  other:\n    keywords: [谢谢]\n",
        encoding="utf-8",
    )
    classifier = load_classifier(path)
    assert classifier.classify("电梯里困着人").category.value == "emergency"
    # Two clauses: the lift is out of order, someone is stuck at home. No lift rescue.
    assert classifier.classify("电梯坏了，我在家困了三天").category.value == "unknown"
    assert classifier.classify("电梯坏了 我在家困了三天").category.value == "unknown"  # chat writes a space
    # within: sentence lets the parts sit in two clauses of one sentence, not in two sentences.
    assert classifier.classify("楼道里 好多烟").category.value == "emergency"
    assert classifier.classify("楼道里打扫干净了。烟酒店开业了").category.value == "unknown"


def test_within_is_only_for_combinations(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "categories:\n  emergency:\n    keywords: [{text: 着火, within: sentence}]\n", encoding="utf-8"
    )
    with pytest.raises(RulesError, match="within"):
        load_rules(path)


def test_cooccurrence_parts_count_inside_other_labels_longer_keywords(tmp_path: Path) -> None:
    # "费" lies inside utility's "电费"; alone it would not count for fraud, but as part of a
    # combination ("费" + "折": a discount on fees) it does.
    path = tmp_path / "rules.yaml"
    path.write_text(
        "categories:\n"
        "  fraud:\n    keywords: [{all: [费, 折], weight: 3}, {text: 费, weight: 5}]\n"
        "  utility_payment:\n    keywords: [{text: 电费, weight: 2}]\n",
        encoding="utf-8",
    )
    classifier = load_classifier(path)
    assert classifier.classify("电费打八折").category.value == "fraud"
    assert classifier.classify("电费怎么交").category.value == "utility_payment"
