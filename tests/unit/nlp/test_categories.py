"""Categories as data: keys, the catalog a rules file makes, and a rules file's problems named by file and line."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from nlp import RuleClassifier, RulesError, load_classifier
from nlp.categories import SHIPPED, SHIPPED_RULES, catalog_from_rules, load_catalog, load_community_rules
from nlp.quality.evaluation import read_labelled_csv
from nlp.rules import load_rules
from nlp.types import CATEGORY_LABELS, SHIPPED_CATEGORIES, Category, Priority
from tests.unit.nlp.conftest import COMPOUNDS

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy/examples/rules_community.yaml"
DEV_SET = Path(__file__).resolve().parents[2] / "data" / "dev_messages.csv"


def test_the_shipped_keys_stay_as_stored() -> None:
    assert [c.value for c in SHIPPED_CATEGORIES] == [
        "emergency", "safety_hazard", "fraud", "wage_arrears", "repair", "sanitation", "order_dispute",
        "parking", "utility_payment", "employment", "policy", "assistance", "other",
    ]  # fmt: skip
    assert Category.UNKNOWN.value == "unknown"
    assert Category("repair") is Category.REPAIR  # interned: `is` comparisons hold for stored values
    assert pickle.loads(pickle.dumps(Category.REPAIR)) is Category.REPAIR
    assert copy.deepcopy(Category("heating")) is Category("heating")
    assert f"{Category.REPAIR}" == "repair"
    assert type(Category.REPAIR.value) is str


@pytest.mark.parametrize("key", ["Heating", "供暖", "heating-1", "1heating", "", "a" * 33, "re pair"])
def test_a_key_is_short_lower_case_ascii(key: str) -> None:
    with pytest.raises(ValueError, match="not a category key"):
        Category(key)


def test_the_shipped_catalog_is_the_shipped_rules_catalog() -> None:
    """SHIPPED labels categories without parsing YAML; it must say what the shipped rules say."""
    from_rules = catalog_from_rules(load_rules(SHIPPED_RULES, strict_keys=True))
    assert from_rules.infos() == SHIPPED.infos()
    assert SHIPPED.choosable == SHIPPED_CATEGORIES
    assert load_catalog(None) is SHIPPED
    assert SHIPPED.label("unknown") == CATEGORY_LABELS["unknown"]
    assert SHIPPED.label("heating") == "heating"  # an order whose category a community dropped: its key
    assert SHIPPED.get("heating") is None
    assert SHIPPED.get("unknown") is None


def test_extends_shipped_with_nothing_is_the_shipped_rules(
    tmp_path: Path, classifier: RuleClassifier
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nextends: shipped\n", encoding="utf-8")
    shipped = load_rules(SHIPPED_RULES)
    extended = load_community_rules(path)
    assert extended.categories == shipped.categories
    assert extended.settings == shipped.settings
    texts = [row.text for row in read_labelled_csv(DEV_SET)]
    again = load_classifier(path, compounds=COMPOUNDS)
    assert again.classify_many(texts) == classifier.classify_many(texts)  # polarity included


def test_a_community_adds_categories_and_relabels_one() -> None:
    classifier = load_classifier(EXAMPLE)
    categories = classifier.categories
    assert classifier.classify("暖气不热").category is Category("heating")
    assert classifier.classify("暖气不热").priority is Priority.HIGH
    assert classifier.classify("楼下遛狗不拴绳").category is Category("pets")
    assert classifier.classify("我想交暖气费").category is Category.UTILITY_PAYMENT  # its exclude
    assert classifier.classify("电梯坏了").category is Category.REPAIR
    assert categories.label("heating") == "供暖"
    assert categories.priority("heating") is Priority.HIGH
    assert categories.label("pets") == "宠物"
    assert categories.priority("pets") is Priority.NORMAL
    assert categories.label("other") == "其他事项"
    assert categories.label("repair") == "维修报修"
    assert categories.choosable == (
        *SHIPPED_CATEGORIES[:-1],
        Category("heating"),
        Category("pets"),
        Category.OTHER,
    )
    assert load_catalog(EXAMPLE).infos() == categories.infos()


def test_extends_adds_keywords_and_excludes_to_a_shipped_category(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\nextends: shipped\ncategories:\n"
        "  parking:\n    keywords: [{words: [充电桩被占], weight: 3}]\n"
        "  repair:\n    exclude: [心情坏了]\n",
        encoding="utf-8",
    )
    shipped, extended = load_classifier(), load_classifier(path)
    assert shipped.classify("充电桩被占了").category is Category.UNKNOWN
    assert extended.classify("充电桩被占了").category is Category.PARKING
    assert shipped.classify("今天心情坏了").category is Category.REPAIR
    assert extended.classify("今天心情坏了").category is Category.UNKNOWN
    assert extended.classify("楼道灯坏了").category is Category.REPAIR  # the shipped keywords stay
    assert extended.categories.infos() == SHIPPED.infos()


def test_a_whole_rules_file_may_add_a_category(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    extra = "  heating:\n    label: 供暖\n    priority: high\n    keywords:\n      - {words: [暖气不热], weight: 5}\n"
    path.write_text(SHIPPED_RULES.read_text(encoding="utf-8") + extra, encoding="utf-8")
    classifier = load_classifier(path)
    assert classifier.classify("暖气不热").category is Category("heating")
    assert classifier.categories.label("heating") == "供暖"


OVERLAY = "version: 1\nextends: shipped\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (OVERLAY + "categories:\n  heating:\n    keywords: [暖气]\n", ":4: categories.heating: a new category needs a label"),
        (OVERLAY + "categories:\n  Heating:\n    label: 供暖\n    keywords: [暖气]\n", ":4: categories.Heating: 'Heating' is not"),
        (OVERLAY + "categories:\n  unknown:\n    label: 未知\n    keywords: [x]\n", ":4: categories.unknown: 'unknown' is what"),
        (OVERLAY + "categories:\n  heating:\n    label: 维修报修\n    keywords: [暖气]\n", ":5: categories.heating.label: '维修报修' is already the label of repair"),
        (OVERLAY + "categories:\n  heating:\n    label: 供暖\n    keywords: [暖气]\n    colour: red\n", ":4: categories.heating: unknown key(s) colour"),
        (OVERLAY + "categories:\n  heating:\n    label: 供暖\n    keywords:\n      - 暖气\n      - {text: 冷, weight: -1}\n", ":8: categories.heating.keywords[1].weight: must not be negative"),
        (OVERLAY + "categories:\n  other:\n    label: 其他事项\n    default_weight: 2\n", ":4: categories.other: a shipped category takes"),
        (OVERLAY + "categories:\n  pets:\n    label: '" + "宠" * 17 + "'\n    keywords: [狗]\n", ":5: categories.pets.label: must be a short text"),
        (OVERLAY + "polarity: {}\n", ": unknown top-level key(s) with extends: polarity"),
        ("version: 1\nextends: mine\ncategories: {}\n", ": extends: 'mine' is not 'shipped'"),
    ],
)  # fmt: skip
def test_a_bad_rules_file_is_refused_with_its_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "community_rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_classifier(path)
    assert str(info.value).startswith(f"{path}{where}"), str(info.value)
