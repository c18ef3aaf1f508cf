"""CI gate on the labelled dev set (tests/data/dev_messages.csv).

Location exact match = all four fields equal. It is gated twice: on rows whose expected location
has any field (>= 0.95), and on rows expecting no location, where the extractor must return
nothing at all (>= 0.95) so it never invents one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp import RuleClassifier
from nlp.quality.evaluation import Report, evaluate, read_labelled_csv
from nlp.quality.report import format_report

DEV_SET = Path(__file__).resolve().parents[2] / "data" / "dev_messages.csv"


@pytest.fixture(scope="module")
def report(classifier: RuleClassifier) -> Report:
    rows = read_labelled_csv(DEV_SET)
    return evaluate(
        rows,
        lambda text: classifier.classify(text).category.value,
        locate=classifier.locator.extract,
        labels=[c.name for c in classifier.rules.categories],
    )


def test_dev_set_is_big_and_covers_the_brief(report: Report) -> None:
    assert report.total >= 400
    assert all(s.support > 0 for s in report.per_label)
    assert report.score("emergency").support >= 40
    assert report.location is not None
    assert report.location.located_total >= 100


def test_accuracy(report: Report) -> None:
    assert report.accuracy >= 0.90, format_report(report)


def test_emergency_recall_and_precision(report: Report) -> None:
    emergency = report.score("emergency")
    assert emergency.recall == 1.0, format_report(report)
    assert emergency.precision >= 0.90, format_report(report)


def test_location_exact_match(report: Report) -> None:
    assert report.location is not None
    assert report.location.located_accuracy >= 0.95, format_report(report)
    assert report.location.unlocated_accuracy >= 0.95, format_report(report)
