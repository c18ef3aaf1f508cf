"""The learned model's features: the fast run-time forms equal the plain definitions training uses."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

from nlp import RuleClassifier
from nlp.learned.features import WordCounter, char_ngrams, is_word, occurrences, words

DATA = Path(__file__).resolve().parents[3] / "data"


def _plain_ngrams(text: str) -> list[str]:
    out: list[str] = []
    for run in text.split():
        for n in (1, 2, 3):
            out.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return out


def test_char_ngrams_equal_the_plain_definition_for_every_run_length() -> None:
    rng = random.Random(3)
    alphabet = "火着漏水楼道 a1#急"
    texts = ["", " ", "急", "急 急急", "急急急", "a b  cd", "兴泰5号楼2单元501"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    texts.append("长" * 5000)  # longer than the prepared slices
    for text in texts:
        assert Counter(char_ngrams(text)) == Counter(_plain_ngrams(text)), text


def test_words_are_hanzi_of_two_or_more() -> None:
    assert is_word("漏水")
    assert not is_word("火")
    assert not is_word("5号")
    assert not is_word("ab")


def test_occurrences_count_overlapping_ones() -> None:
    assert occurrences("哈哈哈哈", "哈哈") == 3
    assert occurrences("楼道漏水楼道", "楼道") == 2
    assert occurrences("楼道", "漏水") == 0


def test_counted_words_equal_jieba_full_mode_on_the_training_sets(classifier: RuleClassifier) -> None:
    """The run time counts known words by substring; training takes them from jieba's full mode."""
    texts: list[str] = []
    for name in ("train_messages.csv", "train_styles.csv"):
        with (DATA / name).open(encoding="utf-8") as fh:
            texts.extend(row["text"] for row in csv.DictReader(fh))
    norms = [classifier.classify_by_rules(t)[1] for t in texts]
    trained = [Counter(words(n, classifier.tokenizer.cut_all)) for n in norms]
    vocabulary = {w for c in trained[::2] for w in c}  # half of the messages build it, as a fold would
    assert any(len(w) > 3 for w in vocabulary)  # the long-word path is exercised too
    counter = WordCounter(vocabulary)
    for norm, expected in zip(norms, trained, strict=True):
        known = {w: n for w, n in expected.items() if w in vocabulary}
        assert counter.count(norm, char_ngrams(norm)) == known, norm
