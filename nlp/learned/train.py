"""Fit the learned model with scikit-learn and export it for the pure-Python scorer.

Only training imports scikit-learn (the `train` extra); the bot and `gridbot classify` read the exported
file. The pipeline is deliberately plain: TF-IDF over the features of nlp/learned/features.py (sublinear
counts, smoothed idf, each block L2-normalised; words scaled by `word_scale`), one logistic regression
per label (one-versus-rest, so each label's probability is its own and the emergency screen is exact).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nlp.learned.features import char_ngrams, words
from nlp.learned.model import LinearModel, Policy
from nlp.normalise import normalise

# The classifier reads at most this many characters of a message (default_read does the same).
MAX_CHARS = 2000


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass(frozen=True)
class Prepared:
    """An example's features, computed once and reused by every fold and setting."""

    norm: str
    grams: list[str]
    words: list[str]
    label: str


@dataclass(frozen=True)
class Params:
    c: float = 10.0  # inverse regularisation strength of each logistic regression
    word_scale: float = 1.0  # weight of the word block against the n-gram block
    min_df: int = 2  # features seen in fewer training messages are dropped
    # "balanced": each label weighs as much as any other however many examples it has (macro-F1).
    class_weight: str | None = None


@dataclass
class Fitted:
    """The scikit-learn objects of one fit (what `export` and the tests read)."""

    chars: Any  # TfidfVectorizer
    words: Any  # TfidfVectorizer, or None when no word reached min_df
    classifier: Any  # OneVsRestClassifier(LogisticRegression)
    params: Params
    labels: tuple[str, ...]

    def matrix(self, items: Sequence[Prepared]) -> Any:
        """The feature matrix scikit-learn scores (sparse, one row per item)."""
        from scipy.sparse import hstack

        blocks = [self.chars.transform([p.grams for p in items])]
        if self.words is not None:
            blocks.append(self.words.transform([p.words for p in items]) * self.params.word_scale)
        return hstack(blocks).tocsr()

    def decision_function(self, items: Sequence[Prepared]) -> Any:
        """Per label scores, shape (len(items), len(labels)); a two-label fit is widened to two columns."""
        import numpy as np

        scores = self.classifier.decision_function(self.matrix(items))
        if scores.ndim == 1:
            return np.column_stack([-scores, scores])
        return scores


def default_read(text: str) -> str:
    """The text the model reads when no classifier says otherwise (benchmarks on other label sets)."""
    return normalise(text[:MAX_CHARS])


def prepare(
    examples: Iterable[Example],
    cut_all: Callable[[str], list[str]],
    read: Callable[[str], str] = default_read,
) -> list[Prepared]:
    """Featurise examples.

    Args:
        cut_all: jieba's full mode with the classifier's dictionary (Tokenizer.cut_all).
        read: message -> the text the model reads; gridbot passes what its rules read
            (RuleClassifier.classify_by_rules), so the model sees at training exactly what it sees at run time.
    """
    out = []
    for ex in examples:
        norm = read(ex.text)
        out.append(Prepared(norm, char_ngrams(norm), words(norm, cut_all), ex.label))
    return out


def _identity(doc: list[str]) -> list[str]:
    return doc


def fit(items: Sequence[Prepared], params: Params) -> Fitted:
    """Fit the vectorizers and the classifier on `items`.

    Raises:
        ValueError: fewer than two labels, or no feature survives min_df.
    """
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    labels = tuple(sorted({p.label for p in items}))
    if len(labels) < 2:
        raise ValueError("training needs examples of at least two labels")
    chars = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=params.min_df)
    blocks = [chars.fit_transform([p.grams for p in items])]
    word_vec: Any = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=params.min_df)
    try:
        blocks.append(word_vec.fit_transform([p.words for p in items]) * params.word_scale)
    except ValueError:  # "empty vocabulary": no word reached min_df; the n-grams carry the model
        word_vec = None
    classifier = OneVsRestClassifier(
        LogisticRegression(C=params.c, solver="liblinear", class_weight=params.class_weight)
    )
    classifier.fit(hstack(blocks).tocsr(), [p.label for p in items])
    return Fitted(chars, word_vec, classifier, params, labels)


def export(fitted: Fitted, policy: Policy, meta: Mapping[str, Any] | None = None) -> LinearModel:
    """The fitted model as a LinearModel (pure Python) with the given policy."""
    import numpy as np

    char_names = sorted(fitted.chars.vocabulary_, key=fitted.chars.vocabulary_.__getitem__)
    idf = [*fitted.chars.idf_.tolist()]
    word_names: list[str] = []
    if fitted.words is not None:
        word_names = sorted(fitted.words.vocabulary_, key=fitted.words.vocabulary_.__getitem__)
        idf.extend(fitted.words.idf_.tolist())
    estimators = fitted.classifier.estimators_
    coef = np.vstack([np.asarray(e.coef_).reshape(-1) for e in estimators])  # (labels or 1, features)
    intercepts = np.array([float(np.asarray(e.intercept_).reshape(-1)[0]) for e in estimators])
    if len(estimators) == 1:  # two labels: scikit-learn fits one model for the second label
        coef = np.vstack([-coef[0], coef[0]])
        intercepts = np.array([-intercepts[0], intercepts[0]])
    n_chars = len(char_names)
    coef[:, n_chars:] *= fitted.params.word_scale  # the word block's weight, folded into its weights
    n = n_chars + len(word_names)
    return LinearModel(
        labels=fitted.labels,
        chars=dict(zip(char_names, range(n_chars), strict=True)),
        words=dict(zip(word_names, range(n_chars, n), strict=True)),
        idf=array("d", idf),
        weights=array("d", coef.T.reshape(-1).tolist()),
        intercepts=intercepts.tolist(),
        policy=policy,
        meta=meta,
    )
