"""Second, independent gate: the rule-writing training set (tests/data/train_messages.csv).

The dev set gates the shipped rules; this set (written separately, other phrasings, dialect, typos,
indirect emergencies and their look-alikes) keeps rule edits from overfitting either one alone.
It runs through `gridbot rules eval`, the tool staff use, so the CLI's report is gated as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.nlp import rules_app
from nlp import RuleClassifier
from nlp.quality.evaluation import Report, evaluate, read_labelled_csv
from nlp.quality.report import format_report

TRAIN_SET = Path(__file__).resolve().parents[2] / "data" / "train_messages.csv"
TRAIN_STYLES = Path(__file__).resolve().parents[2] / "data" / "train_styles.csv"


@pytest.fixture(scope="module")
def report(classifier: RuleClassifier) -> Report:
    return evaluate(
        read_labelled_csv(TRAIN_SET),
        lambda text: classifier.classify(text).category.value,
        locate=classifier.locator.extract,
        labels=[c.name for c in classifier.rules.categories],
    )


def test_train_set_is_big_and_covers_every_category(report: Report) -> None:
    assert report.total >= 250
    assert all(s.support > 0 for s in report.per_label)
    assert report.score("emergency").support >= 60


def test_emergency_recall_and_accuracy(report: Report) -> None:
    assert report.score("emergency").recall == 1.0, format_report(report)
    assert report.score("emergency").precision >= 0.90, format_report(report)
    assert report.accuracy >= 0.85, format_report(report)


def test_rules_eval_command_passes_on_the_train_set() -> None:
    result = CliRunner().invoke(rules_app, ["eval", str(TRAIN_SET), "--min-accuracy", "0.85"])
    assert result.exit_code == 0, result.output
    emergency = next(line for line in result.output.splitlines() if line.startswith("emergency"))
    precision, recall = (float(x) for x in emergency.split()[1:3])
    assert recall == 1.0, result.output
    assert precision >= 0.90, result.output


def test_styles_training_set(classifier: RuleClassifier) -> None:
    # The messy-styles training set the scope, polarity and sound-alike mechanisms were tuned on.
    report = evaluate(
        read_labelled_csv(TRAIN_STYLES),
        lambda text: classifier.classify(text).category.value,
        locate=classifier.locator.extract,
        labels=[c.name for c in classifier.rules.categories],
    )
    assert report.accuracy >= 0.92, format_report(report)
    assert report.score("emergency").recall >= 0.97, format_report(report)
    assert report.score("emergency").precision >= 0.90, format_report(report)
    assert report.location is not None
    assert report.location.located_accuracy >= 0.95, format_report(report)
