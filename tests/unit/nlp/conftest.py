from __future__ import annotations

import pytest

from nlp import RuleClassifier, load_classifier

COMPOUNDS = {
    "森源华府": ["森源"],
    "滨河花园": ["滨河"],
    "阳光上城": ["阳光"],
    "兴泰小区": ["兴泰"],
    "太平洋": [],
    "南通新区": ["南通"],
    "宝山丽湾": ["丽湾"],
    "宝山花园": [],
    "安居苑": ["安居"],
}


@pytest.fixture(scope="session")
def classifier() -> RuleClassifier:
    return load_classifier(compounds=COMPOUNDS)
