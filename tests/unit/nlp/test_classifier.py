from __future__ import annotations

from pathlib import Path

import pytest

from nlp import Category, Priority, RuleClassifier, load_classifier


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("楼道冒烟了快来人", Category.EMERGENCY),
        ("被困电梯了", Category.EMERGENCY),
        ("对门老人好几天没开门了 电话也不接", Category.EMERGENCY),
        ("闻到煤气味", Category.EMERGENCY),
        ("有人晕倒了", Category.EMERGENCY),
        ("有人打架还拿刀", Category.EMERGENCY),
        ("是不是着火了 好大的烟", Category.EMERGENCY),  # a question about a fire is still a fire
        ("防火宣传什么时候搞", Category.OTHER),
        ("不是着火 是楼下烧烤油烟大", Category.ORDER_DISPUTE),  # smoke from the neighbours' barbecue
        ("没有漏气 就问下燃气费怎么交", Category.UTILITY_PAYMENT),
        ("楼道里电动车充电", Category.SAFETY_HAZARD),
        ("老板拖欠工资", Category.WAGE_ARREARS),
        ("网上购电没到账", Category.UTILITY_PAYMENT),
    ],
)
def test_categories_and_negations(classifier: RuleClassifier, text: str, category: Category) -> None:
    assert classifier.classify(text).category is category


def test_priorities_follow_the_category(classifier: RuleClassifier) -> None:
    assert classifier.classify("着火了").priority is Priority.URGENT
    assert classifier.classify("消防通道被堵了").priority is Priority.HIGH
    assert classifier.classify("独居老人需要帮忙").priority is Priority.HIGH
    assert classifier.classify("楼道灯坏了").priority is Priority.NORMAL


def test_result_carries_keywords_confidence_and_location(classifier: RuleClassifier) -> None:
    result = classifier.classify("兴泰5号楼2单元501着火了")
    assert result.category is Category.EMERGENCY
    assert "着火" in result.keywords
    assert 0 < result.confidence <= 1
    assert result.location.compound == "兴泰小区"
    assert result.location.room == "501"


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "。。。", "asdf qwer", "\x00\ufeff"])
def test_nothing_matched_is_unknown(classifier: RuleClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.category is Category.UNKNOWN
    assert result.priority is Priority.NORMAL
    assert result.confidence == 0.0
    assert result.location.is_empty


def test_ambiguous_message_is_unknown_with_candidates(classifier: RuleClassifier) -> None:
    result = classifier.classify("灵活就业人员的社保")
    assert result.category is Category.UNKNOWN
    assert set(result.candidates) == {Category.EMPLOYMENT, Category.POLICY}


def test_unknown_keeps_the_highest_priority_of_its_candidates(classifier: RuleClassifier) -> None:
    result = classifier.classify("消防通道停了车")
    if result.category is Category.UNKNOWN:
        assert Category.SAFETY_HAZARD in result.candidates
        assert result.priority is Priority.HIGH
    else:
        assert result.category is Category.SAFETY_HAZARD


def test_huge_input_is_handled(classifier: RuleClassifier) -> None:
    result = classifier.classify("楼道灯坏了" * 2000)
    assert result.category is Category.REPAIR
    assert classifier.classify("啊" * 10_000).category is Category.UNKNOWN


def test_emergency_overrides_other_evidence(classifier: RuleClassifier) -> None:
    # Plenty of repair words, one decisive emergency cue: emergency must win.
    result = classifier.classify("电梯坏了 维修 报修 有人被困在里面")
    assert result.category is Category.EMERGENCY


def test_compound_names_stay_whole_in_the_tokenizer(classifier: RuleClassifier) -> None:
    assert "森源华府" in classifier.tokenizer.cut("森源华府3栋电梯坏了")
    assert "丽湾" in classifier.tokenizer.cut("丽湾4栋")


def test_unknown_with_emergency_evidence_offers_emergency_first(tmp_path: Path) -> None:
    # Half the override score is not enough to decide, but an unknown result must still offer the
    # emergency button first and carry its urgency (a missed emergency is the worst error).
    path = tmp_path / "rules.yaml"
    path.write_text(
        "settings: {override: {emergency: 2}}\n"
        "categories:\n"
        "  emergency: {priority: urgent, keywords: [{text: 烟, weight: 1}]}\n"
        "  repair: {keywords: [{text: 坏了, weight: 2}]}\n"
        "  sanitation: {keywords: [{text: 脏, weight: 2}]}\n",
        encoding="utf-8",
    )
    classifier = load_classifier(path)
    result = classifier.classify("灯坏了 楼道很脏 有点烟")
    assert result.category is Category.UNKNOWN
    assert result.candidates == (Category.EMERGENCY, Category.REPAIR, Category.SANITATION)
    assert result.priority is Priority.URGENT
    weak = classifier.classify("灯坏了 楼道很脏")  # no emergency evidence: unchanged
    assert weak.candidates == (Category.REPAIR, Category.SANITATION)
    assert weak.priority is Priority.NORMAL


@pytest.mark.parametrize(
    "text",
    [
        "电梯在五楼和六楼中间停住了 我妈在里头",
        "我奶奶突然翻白眼 身子一直抖",
        "我妈头晕呕吐 家里用的燃气热水器",
        "对门老太太三四天没出门了 电话打不通",
        "有人正在撬三楼的门",
        "兴泰3号楼厨房着活了",
        "车棚里电瓶车着了",
    ],
)
def test_indirect_emergencies(classifier: RuleClassifier, text: str) -> None:
    assert classifier.classify(text).category is Category.EMERGENCY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("周日的防火演练几点开始", Category.OTHER),
        ("燃气费咋交 卡里没钱了", Category.UTILITY_PAYMENT),
        ("上个月我家着过火 现在房子没法住 能不能帮帮", Category.ASSISTANCE),
        ("电梯老是卡顿 没困人 就是慢", Category.REPAIR),
        ("东门那排车乱停 万一有事救护车都进不来", Category.PARKING),
        ("楼上老往下扔东西 差点砸我头上", Category.SAFETY_HAZARD),
        ("楼下邻居天天在院子里烧烤 烟全飘我家了", Category.ORDER_DISPUTE),
        ("我睡着了没听见电话", Category.UNKNOWN),
    ],
)
def test_emergency_look_alikes(classifier: RuleClassifier, text: str, expected: Category) -> None:
    assert classifier.classify(text).category is expected


def test_warm_up_builds_the_segmenter_before_the_first_message() -> None:
    # The Telegram runner warms up at start: built lazily, jieba's dictionary (about a second of CPU)
    # would stall the event loop on the first message that needs word segmentation.
    fresh = load_classifier(None, {})
    assert fresh.tokenizer._jieba is None
    assert fresh.soundalike._by_sound is None  # and the sound-alike tables (pypinyin's table, ~0.2 s)
    fresh.warm_up()
    assert fresh.tokenizer._jieba is not None
    assert fresh.soundalike._by_sound is not None
