"""The learned second opinion at run time: a linear model scored in pure Python.

Training (nlp/learned/train.py, scikit-learn) exports one weight per feature and label; scoring a
message is a dict look-up per character n-gram plus a few set operations for its known words, so
classifying never imports numpy or scikit-learn, nor segments the message. The features are TF-IDF values
(1 + ln count) x idf, each block (n-grams, words) L2-normalised on its own, exactly as the training
pipeline computes them; the scores equal scikit-learn's `decision_function` (checked by tests to 1e-6).

Each label has its own one-versus-rest logistic model, so the emergency probability needs only the
emergency column: it is computed for every message the rules do not already see as an emergency, and
the thirteen-column vote only when the rules are unsure.

A batch of messages (`prepared`, used by `gridbot classify` on each block of input it reads) has every
label's scores, and the votes made of them, computed at once with numpy, several times faster than one
column at a time in Python.
numpy is imported only for a batch of `BATCH` messages or more, so a single message (the bot, `echo x |
gridbot classify`) never waits for it. Both ways add the products of a label's score in the same order,
one IEEE addition at a time, so they give the same floating-point numbers to the last bit: an answer
never depends on the batch its message came in.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import reduce
from itertools import compress, repeat
from operator import add, is_not, mul
from typing import Any, NamedTuple, cast

from nlp.learned.features import Features, WordCounter, char_ngrams

NEVER = 1.01  # a probability threshold no vote reaches
BATCH = 32  # messages from which `prepared` scores them together with numpy
_ONE = 1


def _added_in_order(products: Iterable[float]) -> float:
    return reduce(add, products, 0.0)


# A label's score adds its products one by one, in feature order, as the batch scorer does (numpy's
# bincount). sum() of floats does exactly that up to Python 3.11; from 3.12 it compensates rounding errors,
# which the batch scorer does not, so there the same in-order addition is spelled out.
_in_order: Callable[[Iterable[float]], float] = sum if sys.version_info < (3, 12) else _added_in_order


@dataclass(frozen=True)
class Policy:
    """When the model's vote counts (chosen by cross-validation on the training sets only).

    Attributes:
        rules_unsure_below: the rules' confidence (best score / all scores) under which their
            decision counts as "the top two are close" and the model may replace it.
        decide_at: the model's probability (normalised over labels) it needs to decide a message the
            rules call unknown.
        raise_at: the emergency-vs-rest probability from which the model raises a possible emergency.
        emergency: the label the model may raise (None: never raises).
        override_at: the probability it needs to replace the label of rules that are unsure.
        demote_below: the emergency probability under which the model, voting for another label, turns
            an emergency the rules see into that label with a *possible* emergency level (the resident
            still gets the advice and the question; only the all-staff alert waits). 0: never.
        emergency_at: the probability the model needs to name the emergency category where the rules
            did not (below it the rules' label stays, and `raise_at` alone decides a possible level).
    """

    rules_unsure_below: float = 0.0
    decide_at: float = NEVER
    raise_at: float = NEVER
    emergency: str | None = None
    override_at: float = NEVER
    demote_below: float = 0.0
    emergency_at: float = 0.0

    def model_leads(self) -> Policy:
        """The shipped lead: the model's label wherever it knows a feature of the message (the rules'
        emergencies still never replaced); the raise threshold is kept."""
        return replace(self, rules_unsure_below=NEVER, decide_at=0.0, override_at=0.0)


# Built once per message a vote is asked for: a NamedTuple, several times cheaper than a frozen dataclass.
class Vote(NamedTuple):
    """The model's opinion: its best label, that label's probability and the runners-up."""

    label: str
    probability: float
    alternatives: tuple[tuple[str, float], ...]
    emergency_probability: float
    known_features: int  # features of the message the model knows; 0 = the vote is only the prior


class LinearModel:
    """One-versus-rest linear scores over character n-grams and jieba's dictionary words.

    Args:
        labels: label names, in the order of the weight columns.
        chars, words: feature -> row, n-gram rows first; a word's row follows every n-gram row.
        idf: per row.
        weights: row-major, len(labels) per row (word rows already scaled by the word block's weight).
        intercepts: per label.
        policy: thresholds for combining with the rules.
        meta: what the file says about its training (sets, sizes, cross-validated figures).
    """

    def __init__(
        self,
        labels: Sequence[str],
        chars: dict[str, int],
        words: dict[str, int],
        idf: array[float],
        weights: array[float],
        intercepts: Sequence[float],
        policy: Policy,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self.labels = tuple(labels)
        self.chars = chars
        self.words = words
        self.idf = idf
        self.weights = weights
        self.intercepts = tuple(intercepts)
        self.policy = policy
        self.meta = dict(meta or {})
        self._k = len(self.labels)
        self._emergency = self.labels.index(policy.emergency) if policy.emergency in self.labels else None
        self._counter: WordCounter | None = None
        self._columns: list[array[float]] | None = None
        # The batch at hand (`prepared`): each text's place in it, its scores, and its vote's arguments.
        self._ready: dict[str, int] = {}
        self._scored: Any = None  # nlp/learned/batch.py's Scored
        self._votes: list[Any] = []
        self.batch_tables: Any = None  # nlp/learned/batch.py's numpy copies of the weights, once made

    @property
    def counter(self) -> WordCounter:
        if self._counter is None:
            self._counter = WordCounter(self.words)
        return self._counter

    def features(self, norm: str) -> Features:
        """The known features of `norm` (the text the rules read), n-grams then words, each block by row;
        scored already when `norm` is one of the batch being `prepared`."""
        ready = self._ready.get(norm)
        if ready is not None:
            return cast(Features, self._scored.features(ready))
        grams = char_ngrams(norm)
        char_rows, char_values = self._block(Counter(grams), self.chars)
        word_rows, word_values = self._block(self.counter.count(norm, grams), self.words)
        return Features(char_rows + word_rows, char_values + word_values)

    def _block(self, counts: Mapping[str, int], index: Mapping[str, int]) -> tuple[list[int], list[float]]:
        # Every step runs as one C-level map over the features. Rows in ascending order: the order in
        # which nlp/learned/batch.py adds them up too.
        keys = list(counts)
        found = list(map(index.get, keys))
        if None in found:
            known = list(map(is_not, found, repeat(None)))
            keys = list(compress(keys, known))
            found = list(compress(found, known))
        if not found:
            return [], []
        by_row = dict(zip(cast(list[int], found), map(counts.__getitem__, keys), strict=True))
        rows = sorted(by_row)
        counted = list(map(by_row.__getitem__, rows))
        values = list(map(self.idf.__getitem__, rows))
        for i in compress(range(len(rows)), map(_ONE.__lt__, counted)):  # sublinear tf: 1 + ln(count)
            values[i] *= 1.0 + math.log(counted[i])
        scale = 1.0 / math.sqrt(_in_order(map(mul, values, values)))
        return rows, list(map(mul, values, repeat(scale)))

    @contextmanager
    def prepared(self, norms: Sequence[str]) -> Iterator[None]:
        """Within the block, `features`, `vote_of` and `emergency_probability_of` each of `norms` are ready:
        from `BATCH` messages on, their features, every label's score and the votes are computed together
        with numpy (nlp/learned/batch.py), the same numbers to the last bit as one message at a time."""
        if len(norms) >= BATCH:
            from nlp.learned.batch import score_together, votes_together

            unique = list(dict.fromkeys(norms))
            self._scored = score_together(self, unique)
            self._votes = votes_together(self.labels, self._emergency, self._scored)
            self._ready = {norm: i for i, norm in enumerate(unique)}
        try:
            yield
        finally:
            self._ready, self._scored, self._votes = {}, None, []

    def vote_of(self, norm: str) -> Vote:
        """`vote(features(norm))`, made from the batch's numbers when `norm` is one of it."""
        ready = self._ready.get(norm)
        if ready is not None:
            return Vote(*self._votes[ready])
        return self.vote(self.features(norm))

    def emergency_probability_of(self, norm: str) -> float:
        """`emergency_probability(features(norm))`, read from the batch when `norm` is one of it."""
        ready = self._ready.get(norm)
        if ready is not None:
            return cast(float, self._votes[ready][3])
        return self.emergency_probability(self.features(norm))

    def warm_up_batches(self) -> None:
        """Import numpy and make the tables `prepared` uses now (before forking workers that share them)."""
        from nlp.learned.batch import warm_up

        warm_up(self)

    def _column(self, label: int) -> array[float]:
        # One label's weights, row by row: a strided copy of the row-major table (C speed), made for
        # every label the first time one is needed, so start-up never unpacks the whole table.
        if self._columns is None:
            self._columns = [self.weights[c :: self._k] for c in range(self._k)]
        return self._columns[label]

    def scores(self, f: Features) -> list[float]:
        """The decision value of every label (scikit-learn's decision_function)."""
        if f.scores is not None:
            return list(f.scores)
        if not f.rows:
            return list(self.intercepts)
        rows, values = f.rows, f.values
        return [
            b + _in_order(map(mul, values, map(self._column(c).__getitem__, rows)))
            for c, b in enumerate(self.intercepts)
        ]

    def emergency_probability(self, f: Features) -> float:
        """The emergency-versus-rest probability (0 when the model has no emergency label)."""
        e = self._emergency
        if e is None:
            return 0.0
        if f.scores is not None:
            return _sigmoid(f.scores[e])
        column = self._column(e)
        return _sigmoid(self.intercepts[e] + _in_order(map(mul, f.values, map(column.__getitem__, f.rows))))

    def vote(self, f: Features) -> Vote:
        """The model's full opinion."""
        values = self.scores(f)
        sig = [_sigmoid(v) for v in values]
        total = sum(sig)
        ranked = sorted(range(self._k), key=lambda c: -values[c])
        # Labels normalised over all one-versus-rest models, as scikit-learn's predict_proba does.
        probs = [(self.labels[c], sig[c] / total) for c in ranked]
        emergency = sig[self._emergency] if self._emergency is not None else 0.0
        return Vote(probs[0][0], probs[0][1], tuple(probs[1:3]), emergency, len(f.rows))


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    z = math.exp(value)
    return z / (1.0 + z)
