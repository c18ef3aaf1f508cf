"""Many messages' features and scores at once, with numpy (`gridbot classify` reads its input in blocks).

One message at a time (nlp/learned/model.py) costs a dozen Python-level passes over its n-grams and
thirteen more to score them. Here the whole block is one array of code points, and numpy does the rest:
each character 1-, 2- and 3-gram becomes a number (its code points + 1 as digits in base 0x110001, so
n-grams of different lengths never share one), looked up among the model's n-grams and short words in a
hash table (nlp/learned/lookup.py); the model's longer words are compared character by character where
a message holds their first three; then counting, TF-IDF, the per-block L2 norms and every label's score,
and the votes (`votes_together`).

The numbers are the ones `LinearModel.features` and `LinearModel.scores` give, to the last bit, so an
answer never depends on the block its message came in: the same n-grams (never across whitespace, as
`str.split` cuts), every product and quotient the same single IEEE operation, sqrt correctly rounded in
both, 1 + ln(count) from `math.log` in both, and every sum adding its terms one at a time in the same
order (ascending rows, n-grams before words) with `numpy.bincount`, a plain loop in C over its input.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any, Protocol

from nlp.learned.features import MAX_N, Features


class LinearModel(Protocol):
    """What is read of nlp/learned/model.py's LinearModel (which calls in here: no import back)."""

    labels: tuple[str, ...]
    chars: dict[str, int]
    words: dict[str, int]
    idf: array[float]
    weights: array[float]
    intercepts: tuple[float, ...]
    batch_tables: Any

    def features(self, norm: str) -> Features: ...


BASE = 0x110001  # one more than the highest code point: a 3-gram's number stays below 2**63
# Python's whitespace (str.isspace, what str.split cuts at) ends at U+3000 (a test checks it).
LAST_SPACE = 0x3000


def gram_numbers(np: Any, grams: Sequence[str]) -> Any:
    """The numbers standing for n-grams (of at most MAX_N characters) in the arrays: code points + 1, as
    digits in BASE."""
    lengths = np.array(list(map(len, grams)), dtype=np.int64)
    digits = np.frombuffer("".join(grams).encode("utf-32-le", "surrogatepass"), dtype=np.uint32) + 1
    first = np.cumsum(lengths) - lengths
    numbers = np.zeros(len(grams), dtype=np.int64)
    for i in range(MAX_N):  # Horner's rule, a character at a time for every n-gram long enough
        more = lengths > i
        numbers[more] = numbers[more] * BASE + digits[first[more] + i]
    return numbers


class Scored:
    """A block's known features and scores as arrays: `features(i)` makes message i's Features only when
    it is asked for (a classified message needs only its scores, and a few lists per message cost more
    than scoring it).

    Attributes:
        rows, values: every message's features, message after message, rows ascending within each.
        bounds: message i's features are rows[bounds[i]:bounds[i + 1]].
        known: how many features each message has.
        scores: (messages x labels) decision values.
    """

    def __init__(self, rows: Any, values: Any, bounds: list[int], scores: Any) -> None:
        self.rows = rows
        self.values = values
        self.bounds = bounds
        self.known: list[int] = [b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.scores = scores

    def features(self, i: int) -> Features:
        a, b = self.bounds[i], self.bounds[i + 1]
        return Features(self.rows[a:b].tolist(), self.values[a:b].tolist(), self.scores[i].tolist())


def score_together(model: LinearModel, norms: Sequence[str]) -> Scored:
    """The known features and every label's score of each of `norms`."""
    import numpy as np

    t = _tables(model)
    k, n_chars, n_rows = len(model.labels), len(model.chars), len(t.idf)
    # The block as code points + 1, each message followed by a newline (whitespace: no n-gram spans two).
    text = "\n".join(norms) + "\n"
    digits = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64) + 1
    owner = np.repeat(np.arange(len(norms), dtype=np.int64), [len(n) + 1 for n in norms])
    solid = ~t.spaces[np.minimum(digits, len(t.spaces) - 1)]
    both = solid[:-1] & solid[1:]
    pairs = digits[:-1] * BASE + digits[1:]
    starts = np.flatnonzero(both[:-1] & both[1:])  # where each 3-gram starts
    numbers = np.concatenate([digits[solid], pairs[both], pairs[starts] * BASE + digits[starts + 2]])
    messages = np.concatenate([owner[solid], owner[:-1][both], owner[starts]])
    # Each n-gram the model knows, as an n-gram, a short word or the opening of longer words.
    at = t.grams.find(numbers)
    found = []
    if t.long_rows.size:
        opening = at[len(numbers) - len(starts) :]
        opening = np.where(opening >= 0, t.prefixes[opening], -1)
        kept = opening >= 0
        found.append(_long_words(np, t, digits, owner, starts[kept], opening[kept], n_rows))
    known = at >= 0
    at, messages = at[known], messages[known]
    for column in (t.char_rows, t.word_rows):
        rows = column[at]
        kept = rows >= 0
        found.append(messages[kept] * n_rows + rows[kept])
    entries = np.concatenate(found)
    if len(norms) * n_rows < 2**31:  # int32 sorts faster (the usual block: some hundreds of messages)
        entries = entries.astype(np.int32)
    keys, counts = np.unique(entries, return_counts=True)
    message, row = np.divmod(keys, n_rows)
    tf = np.array([1.0, 1.0, *(1.0 + math.log(c) for c in range(2, int(counts.max(initial=1)) + 1))])
    values = t.idf[row] * tf[counts]
    block = message * 2 + (row >= n_chars)  # n-grams and words are normalised apart
    norm2 = np.bincount(block, weights=values * values, minlength=2 * len(norms))
    with np.errstate(divide="ignore"):  # blocks with no feature: never looked up
        scale = 1.0 / np.sqrt(norm2)
    values = values * scale[block]
    cells = (message[:, None] * k + np.arange(k)).ravel()
    products = np.take(t.weights, row, axis=0)  # take: several times faster than indexing rows
    products *= values[:, None]
    totals = np.bincount(cells, weights=products.ravel(), minlength=len(norms) * k).reshape(-1, k)
    bounds: list[int] = np.searchsorted(message, np.arange(len(norms) + 1)).tolist()
    return Scored(row, values, bounds, totals + t.intercepts)


VoteArgs = tuple[str, float, tuple[tuple[str, float], ...], float, int]


def votes_together(labels: Sequence[str], emergency: int | None, scored: Scored) -> list[VoteArgs]:
    """The arguments of each message's `Vote`, the numbers `LinearModel.vote` gives to the last bit: the
    same sigmoid branches (exp from `math`: numpy's own may differ from the C library's in the last bit),
    the total added in label order one term at a time (as `sum` does), ties ranked in label order (a
    stable sort, as `sorted`)."""
    import numpy as np

    scores = scored.scores
    n, k = scores.shape
    exps = np.fromiter(map(math.exp, (-np.abs(scores)).ravel().tolist()), dtype=np.float64, count=n * k)
    exps = exps.reshape(n, k)
    sig = np.where(scores >= 0, 1.0 / (1.0 + exps), exps / (1.0 + exps))
    total = sig[:, 0].copy()
    for c in range(1, k):
        total += sig[:, c]
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    probs: list[list[float]] = (np.take_along_axis(sig, ranked, axis=1) / total[:, None]).T.tolist()
    names = [list(map(labels.__getitem__, place)) for place in ranked.T.tolist()]
    runners_up = [zip(names[p], probs[p], strict=True) for p in range(1, len(names))]
    alternatives = list(zip(*runners_up, strict=True)) if runners_up else [()] * n
    chance: list[float] = sig[:, emergency].tolist() if emergency is not None else [0.0] * n
    return list(zip(names[0], probs[0], alternatives, chance, scored.known, strict=True))


def _long_words(np: Any, t: _Tables, digits: Any, owner: Any, starts: Any, openings: Any, n_rows: int) -> Any:
    """The entries (message x rows + row) of each occurrence of the model's words longer than MAX_N: each
    word opening with a 3-gram at one of `starts` (`openings`: indexes in `t.long_first`) is compared
    there character by character (0 past a word's end matches anything; no code point + 1 is 0)."""
    many = t.long_count[openings]
    # Each (start, word opening there): word indexes counted up from each opening's first.
    before = np.repeat(np.cumsum(many) - many, many)
    words = np.repeat(t.long_first[openings], many) + np.arange(int(many.sum())) - before
    at = np.repeat(starts, many)
    padded = np.concatenate([digits, np.zeros(t.long_chars.shape[1], dtype=np.int64)])
    same = np.ones(len(words), dtype=bool)
    for d in range(MAX_N, t.long_chars.shape[1]):
        wanted = t.long_chars[words, d]
        same &= (wanted == 0) | (padded[at + d] == wanted)
    return owner[at[same]] * n_rows + t.long_rows[words[same]]


class _Tables:
    """A model's weights and feature names as numpy arrays, made once per model: every n-gram it knows
    (found by `grams`) with its row as an n-gram feature, as a short word, and as the opening of longer
    words (an index in `long_first`); -1 where it is not one."""

    def __init__(self, np: Any, model: LinearModel) -> None:
        from nlp.learned.lookup import NumberTable

        self.idf = np.frombuffer(model.idf, dtype=np.float64)
        self.weights = np.frombuffer(model.weights, dtype=np.float64).reshape(-1, len(model.labels))
        self.intercepts = np.asarray(model.intercepts, dtype=np.float64)
        # Whitespace by code point + 1 (str.isspace), False for every one after the last.
        self.spaces = np.zeros(LAST_SPACE + 3, dtype=bool)
        self.spaces[[c + 1 for c, ch in enumerate(map(chr, range(LAST_SPACE + 1))) if ch.isspace()]] = True
        longer: dict[str, list[str]] = {}
        for w in model.words:
            if len(w) > MAX_N:
                longer.setdefault(w[:MAX_N], []).append(w)
        # The longer words opening with each 3-gram: long_first[i] up to long_first[i] + long_count[i].
        spelled = [w for ws in longer.values() for w in ws]
        self.long_count = np.array([len(ws) for ws in longer.values()], dtype=np.int64)
        self.long_first = np.cumsum(self.long_count) - self.long_count
        self.long_rows = np.array([model.words[w] for w in spelled], dtype=np.int64)
        width = max(map(len, spelled), default=MAX_N)
        self.long_chars = np.array([[ord(c) + 1 for c in w] + [0] * (width - len(w)) for w in spelled])
        self.long_chars = self.long_chars.reshape(-1, width).astype(np.int64)
        short = {w: r for w, r in model.words.items() if len(w) <= MAX_N}
        sources = (list(model.chars), list(short), list(longer))
        values = np.array([*model.chars.values(), *short.values(), *range(len(longer))], dtype=np.int64)
        column = np.repeat(np.arange(3), [len(grams) for grams in sources])
        keys, inverse = np.unique(
            gram_numbers(np, [g for grams in sources for g in grams]), return_inverse=True
        )
        self.grams = NumberTable(keys)
        table = np.full((len(keys), 3), -1, dtype=np.int64)
        table[inverse, column] = values
        self.char_rows, self.word_rows, self.prefixes = (np.ascontiguousarray(table[:, c]) for c in range(3))


def warm_up(model: LinearModel) -> None:
    """Make the model's tables now."""
    _tables(model)


def _tables(model: LinearModel) -> _Tables:
    import numpy as np

    if model.batch_tables is None:
        model.batch_tables = _Tables(np, model)
    tables: _Tables = model.batch_tables
    return tables
