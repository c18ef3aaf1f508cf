"""Training, the exported model file and the pure-Python scorer (scikit-learn is the reference)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from bot.app import add_second_opinion
from bot.cli.classify import build_classifier
from nlp import RuleClassifier, load_classifier
from nlp.classifier import DEFAULT_MODEL
from nlp.learned.model import Policy
from nlp.learned.pipeline import SHIPPED_SETS, reading_digest, train_model
from nlp.learned.store import ModelError, dump_model, load_model
from nlp.learned.train import Example, Params, export, fit, prepare
from nlp.quality.evaluation import read_labelled_csv
from nlp.types import SHIPPED_CATEGORIES

DATA = Path(__file__).resolve().parents[3] / "data"
ROOT = Path(__file__).resolve().parents[4]
TINY = [
    Example("楼道里着火了 好大的烟", "emergency"),
    Example("三楼冒烟了 有人被困", "emergency"),
    Example("厨房水管漏水 找师傅修一下", "repair"),
    Example("楼道灯坏了 麻烦来修", "repair"),
    Example("车位被人占了 车停不进去", "parking"),
    Example("小区门口乱停车 堵住了", "parking"),
]


@pytest.fixture(scope="module")
def shipped_examples() -> list[Example]:
    out = []
    for name in SHIPPED_SETS:
        with (DATA / name).open(encoding="utf-8") as fh:
            out.extend(Example(r["text"], r["label"]) for r in csv.DictReader(fh))
    return out


def test_a_model_trained_on_a_tiny_set_classifies_its_examples(classifier: RuleClassifier) -> None:
    result = train_model(TINY, classifier.tokenizer.cut_all)
    model = result.model
    for ex in TINY:
        assert model.vote(model.features(classifier.classify_by_rules(ex.text)[1])).label == ex.label, ex.text
    # Too few examples to cross-validate: the cautious defaults, and the file says so.
    assert result.model_cv is None
    assert model.meta["thresholds"] == "defaults (no cross-validation)"
    assert model.policy.emergency == "emergency"


def test_scores_equal_sklearn_decision_function(
    classifier: RuleClassifier, shipped_examples: list[Example]
) -> None:
    items = prepare(shipped_examples[::3], classifier.tokenizer.cut_all)
    fitted = fit(items, Params(c=20.0, word_scale=0.5))
    model = export(fitted, Policy(emergency="emergency"))
    expected = fitted.decision_function(items)
    assert len(model.words) > 100
    assert len(model.chars) > 1000
    worst = max(
        abs(got - want)
        for item, row in zip(items, expected, strict=True)
        for got, want in zip(model.scores(model.features(item.norm)), row, strict=True)
    )
    assert worst < 1e-6
    # Probabilities and the one-column emergency probability agree with scikit-learn's too.
    probs = fitted.classifier.predict_proba(fitted.matrix(items[:50]))
    e = list(fitted.labels).index("emergency")
    for item, row in zip(items[:50], probs, strict=True):
        features = model.features(item.norm)
        vote = model.vote(features)
        assert vote.probability == pytest.approx(max(row), abs=1e-9)
        assert vote.label == fitted.labels[int(row.argmax())]
        estimator = fitted.classifier.estimators_[e]
        binary = estimator.predict_proba(fitted.matrix([item]))[0, 1]
        assert model.emergency_probability(features) == pytest.approx(binary, abs=1e-9)


def test_two_labels_are_widened_to_two_columns(classifier: RuleClassifier) -> None:
    items = prepare([ex for ex in TINY if ex.label != "parking"], classifier.tokenizer.cut_all)
    fitted = fit(items, Params(min_df=1))
    model = export(fitted, Policy())
    for item, row in zip(items, fitted.decision_function(items), strict=True):
        assert model.scores(model.features(item.norm)) == pytest.approx(list(row), abs=1e-9)


def test_the_file_keeps_every_weight(tmp_path: Path, classifier: RuleClassifier) -> None:
    model = train_model(TINY, classifier.tokenizer.cut_all).model
    path = tmp_path / "model.bin"
    dump_model(model, path)
    again = load_model(path)
    assert again.labels == model.labels
    assert again.policy == model.policy
    assert again.meta == model.meta
    assert again.chars == model.chars
    assert again.words == model.words
    assert list(again.weights) == list(model.weights)
    assert list(again.idf) == list(model.idf)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read model file"),
        (b"", "not a gridbot model file"),
        (b"GRIDBOT-LINEAR 1\n{not json\n", "corrupt model file"),
        (
            b"GRIDBOT-LINEAR 1\n" + b'{"labels": ["a", "b"], "chars": 1, "words": 0, "names_bytes": 1}\nx',
            "corrupt",
        ),
    ],
)
def test_a_bad_model_file_is_one_clear_error(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "model.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError) as caught:
        load_classifier(model=path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_a_model_of_other_labels_is_refused(tmp_path: Path, classifier: RuleClassifier) -> None:
    path = tmp_path / "taidi.bin"
    foreign = [Example(ex.text, f"x_{ex.label}") for ex in TINY]
    dump_model(train_model(foreign, classifier.tokenizer.cut_all).model, path)
    with pytest.raises(ModelError, match="are not gridbot categories") as caught:
        load_classifier(model=path)
    assert str(caught.value).startswith(str(path))


def test_a_truncated_model_file_is_refused(tmp_path: Path, classifier: RuleClassifier) -> None:
    path = tmp_path / "model.bin"
    dump_model(train_model(TINY, classifier.tokenizer.cut_all).model, path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ModelError, match="truncated"):
        load_model(path)


def test_the_bot_falls_back_to_rules_alone_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = load_classifier()
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        add_second_opinion(rules, tmp_path / "missing.bin")
    assert rules.second_opinion is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "classifying by rules alone" in caplog.text
    assert "missing.bin" in caplog.text
    add_second_opinion(rules, None)  # the default: the shipped model
    assert rules.second_opinion is not None


def test_the_shipped_model_was_trained_on_what_the_rules_read_today() -> None:
    """Normalisation or sound-alike correction changed since the shipped model was trained: retrain it
    (`gridbot nlp train`), or its features no longer mean what they meant."""
    classifier = build_classifier(None, None, None, ROOT / "deploy" / "examples" / "community.yaml")
    texts = [r.text for name in SHIPPED_SETS for r in read_labelled_csv(DATA / name) if r.text]
    digest = reading_digest(classifier.classify_by_rules(text)[1] for text in texts)
    assert load_model(DEFAULT_MODEL).meta["reading_digest"] == digest, "run `gridbot nlp train`"


def test_the_shipped_model_is_trained_on_the_shipped_sets_only() -> None:
    model = load_model(DEFAULT_MODEL)
    assert set(model.labels) == set(SHIPPED_CATEGORIES)
    assert set(model.meta["sources"]) == set(SHIPPED_SETS)
    assert "dev_styles.csv" not in SHIPPED_SETS
    assert not any("blind" in name for name in model.meta["sources"])
    assert model.policy.emergency == "emergency"
