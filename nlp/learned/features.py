"""What the learned model sees of a message: character n-grams and jieba's dictionary words.

Both come from the text the rules read (normalised and sound-alike corrected), so the model and the
rules never disagree about what a message says. Training and the run-time scorer call these same
functions; scikit-learn receives them as its analyzers, so the features cannot drift apart.

Words are jieba's full mode (every dictionary word occurring in the message, overlapping ones included),
kept when they are two or more hanzi. That choice makes the run-time side cheap and exact: the words
the model knows are counted straight from the message, with no segmentation and no dictionary to load.
(Full mode and accurate mode scored the same in cross-validation on the training sets.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

MAX_N = 3  # character 1-, 2- and 3-grams
_WORD = re.compile("[\u4e00-\u9fd5]{2,}")  # jieba's hanzi range: its full mode yields these words whole
# Slices reused for every message (slicing by a prepared slice object runs at C speed in map()).
_LIMIT = 4096
_PAIRS = [slice(i, i + 2) for i in range(_LIMIT)]
_TRIPLES = [slice(i, i + 3) for i in range(_LIMIT)]


@dataclass(frozen=True)
class Features:
    """One message's known features: rows of the weight table and their TF-IDF values."""

    rows: list[int]
    values: list[float]
    scores: list[float] | None = None  # every label's decision value, when scored with a batch


def char_ngrams(norm: str) -> list[str]:
    """Character 1- to 3-grams of every whitespace-separated run of `norm` (never across a space)."""
    grams: list[str] = []
    for run in norm.split():
        n = len(run)
        grams.extend(run)
        if n > _LIMIT:  # longer than any message the classifier reads; keep it correct anyway
            grams.extend(run[i : i + 2] for i in range(n - 1))
            grams.extend(run[i : i + 3] for i in range(n - 2))
        elif n > 1:  # (a negative bound would slice the prepared lists from the end)
            grams.extend(map(run.__getitem__, _PAIRS[: n - 1]))
            grams.extend(map(run.__getitem__, _TRIPLES[: n - 2]))
    return grams


def is_word(token: str) -> bool:
    """A jieba full-mode token kept as a feature: two hanzi or more."""
    return _WORD.fullmatch(token) is not None


def words(norm: str, cut_all: Callable[[str], list[str]]) -> list[str]:
    """The word features of `norm` at training time (jieba full mode, nlp.tokenizer.Tokenizer.cut_all)."""
    return [t for t in cut_all(norm) if is_word(t)]


def occurrences(text: str, word: str) -> int:
    """How many times `word` starts in `text`, overlapping occurrences included (as full mode yields them)."""
    count = 0
    at = text.find(word)
    while at >= 0:
        count += 1
        at = text.find(word, at + 1)
    return count


class WordCounter:
    """Count the model's known words in a message without segmenting it.

    A known word is a dictionary word, and full mode yields every occurrence of every dictionary word of
    two or more hanzi, so `words(norm, cut_all)` restricted to the vocabulary equals this count (the
    tokenizer's dictionary only ever grows: community compound names are added, never removed). Words of
    two or three characters are among the message's n-grams already; longer ones are looked for only
    when the message holds their first three characters.
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        known = list(vocabulary)
        self._short = frozenset(w for w in known if len(w) <= MAX_N)
        longer: dict[str, list[str]] = {}
        for w in known:
            if len(w) > MAX_N:
                longer.setdefault(w[:MAX_N], []).append(w)
        self._long = {prefix: tuple(ws) for prefix, ws in longer.items()}
        self._prefixes = frozenset(self._long)

    def count(self, norm: str, grams: Sequence[str]) -> dict[str, int]:
        """Known word -> occurrences in `norm`; `grams` are the char_ngrams of `norm`."""
        found = {w: grams.count(w) for w in self._short.intersection(grams)}
        for prefix in self._prefixes.intersection(grams):
            for w in self._long[prefix]:
                n = occurrences(norm, w)
                if n:
                    found[w] = n
        return found
