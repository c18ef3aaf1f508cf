"""Scoring a block of messages at once (nlp/learned/batch.py) gives one message's numbers to the last bit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp import RuleClassifier, load_classifier
from nlp.classifier import DEFAULT_MODEL
from nlp.learned.batch import LAST_SPACE, score_together, votes_together
from nlp.learned.model import BATCH, Vote
from nlp.types import Classification
from tests.unit.nlp.conftest import COMPOUNDS

DATA = Path(__file__).resolve().parents[3] / "data"
ODD = [
    "",
    "x",
    "🔥🔥🔥 楼道有烟",
    "电梯" * 400,
    "a\u3000b  c\x00d\te",
    "电\u2028梯坏了\u00a0\u00a0",
    "网格员 物业 下水道 高空抛物 消防通道 飞线充电 五边五口五头",
    "   ",
]


@pytest.fixture(scope="module")
def classifier() -> RuleClassifier:
    return load_classifier(compounds=COMPOUNDS, model=DEFAULT_MODEL)


def _texts(name: str) -> list[str]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def test_batch_features_and_scores_equal_one_message_at_a_time(classifier: RuleClassifier) -> None:
    assert classifier.second_opinion is not None
    model = classifier.second_opinion.model
    texts = [*_texts("train_messages.csv"), *_texts("train_styles.csv"), *_texts("dev_styles.csv"), *ODD]
    norms = list(dict.fromkeys(classifier.classify_by_rules(t)[1] for t in texts))
    assert any(len(w) > 3 and w in n for n in norms for w in list(model.words)[:2000])  # long words too
    for at in range(0, len(norms), 300):
        block = norms[at : at + 300]
        scored = score_together(model, block)
        for i, norm in enumerate(block):
            batched = scored.features(i)
            alone = model.features(norm)
            assert batched.rows == alone.rows, norm
            assert batched.values == alone.values, norm  # exactly: the same float operations in order
            assert batched.scores == model.scores(alone), norm
            assert model.emergency_probability(batched) == model.emergency_probability(alone), norm
        # Every vote too, to the last bit (its figures are rounded for the JSON: one bit could change them).
        votes = votes_together(model.labels, model.labels.index("emergency"), scored)
        assert [Vote(*v) for v in votes] == [model.vote(model.features(norm)) for norm in block]


def test_classify_many_answers_as_classify_does_and_scores_the_block_at_once(
    classifier: RuleClassifier,
) -> None:
    assert classifier.second_opinion is not None
    model = classifier.second_opinion.model
    texts = [*_texts("dev_styles.csv")[:150], *ODD]
    assert classifier.classify_many(texts) == [classifier.classify(t) for t in texts]
    norms = [classifier.classify_by_rules(t)[1] for t in texts[:BATCH]]
    with model.prepared(norms):
        assert all(model.features(n).scores is not None for n in norms)  # the block was scored at once
        assert [model.vote_of(n) for n in norms] == [model.vote(model.features(n)) for n in norms]
    assert model.features(norms[0]).scores is None  # and forgotten after it


def test_no_whitespace_after_the_last_one_the_batch_scorer_knows() -> None:
    # n-grams never span whitespace (str.split); the batch scorer looks for it up to LAST_SPACE only.
    assert chr(LAST_SPACE).isspace()
    assert not any(chr(c).isspace() for c in range(LAST_SPACE + 1, 0x110000))


def test_looked_ahead_messages_are_answered_as_classify_would_once_for_each_time_given(
    classifier: RuleClassifier,
) -> None:
    """The bot classifies a page of updates together before handling them (bot/telegram/pump.py): each
    `classify` then takes its answer from there, the same answer, as many times as the text came."""
    texts = [*_texts("dev_styles.csv")[:60], *ODD, "楼道灯坏了", "楼道灯坏了"]
    expected = [classifier.classify(t) for t in texts]
    computed: list[str] = []
    by_rules = classifier.classify_by_rules

    def counting(text: str) -> tuple[Classification, str]:
        computed.append(text)
        return by_rules(text)

    classifier.look_ahead(texts)
    odd: object = ["not", "a", "str"]  # never raises on odd input, answers waiting or not
    assert classifier.classify(odd) == classifier.classify("['not', 'a', 'str']")  # type: ignore[arg-type]
    classifier.classify_by_rules = counting  # type: ignore[method-assign]
    try:
        assert [classifier.classify(t) for t in texts] == expected
        assert computed == []  # every one answered from the look-ahead, duplicates included
        assert classifier.classify("楼道灯坏了") == expected[-1]
        assert computed == ["楼道灯坏了"]  # a third time was not looked ahead: classified then
    finally:
        del classifier.classify_by_rules


def test_the_look_ahead_stays_bounded(classifier: RuleClassifier, monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts looked ahead and never asked for (a grid member's reply, say) do not pile up."""
    monkeypatch.setattr("nlp.classifier._AHEAD_LIMIT", 50)
    for start in range(0, 200, 40):
        classifier.look_ahead([f"第{i}号楼电梯坏了" for i in range(start, start + 40)])
        assert len(classifier._ahead) <= 50
    assert classifier.classify("第199号楼电梯坏了") == classifier.classify("第199号楼电梯坏了")
