"""Mine candidate keywords per label from labelled messages, as a rules file for staff to review.

Staff can turn historical ledgers into rules: the output is a rules file that `load_rules`
accepts as is, to be reviewed and pasted into the community's rules.

How a keyword is chosen (see `rank_keywords`):

- Candidates are jieba tokens and, with `phrases`, two adjacent tokens joined into a phrase
  (市教育局, 小区电梯): a phrase is one literal of the rules, and a phrase of one label
  silences the shorter keywords of other labels inside it (the engine's enclosure rule).
- Counts are what the engine will see: the number of messages of each label whose normalised
  text *contains* the candidate (keywords match substrings, not tokens).
- Ranking: chi-square times precision (the share of the candidate's messages in this label), so
  a keyword must be both frequent and specific.
- Weight: the log-ratio of the candidate's message rate in this label versus the others,
  smoothed with an informative Dirichlet prior (the candidate's overall rate, strength `prior`
  messages), clipped to [MIN_WEIGHT, max_weight]; candidates below MIN_WEIGHT are not proposed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from nlp.matcher import LiteralIndex
from nlp.normalise import normalise

# Function words that co-occur with every label; never useful as a rule.
_STOPWORDS_TEXT = (
    "的 了 是 在 我 你 他 她 它 们 我们 你们 他们 有 和 就 都 也 还 很 不 没 这 那 这个 那个 一个 什么 怎么 "
    "吗 吧 呢 啊 呀 哦 嗯 给 把 被 让 对 从 到 说 要 会 能 可以 已经 现在 因为 所以 但是 如果 而且 或者 "
    "请 您好 你好 谢谢 问题 情况 希望 相关 进行 一下 这样 没有 自己 多 好 大 小 上 下 里 中 后 前"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

MIN_WEIGHT = 0.3  # a weaker association is not worth a rule
MAX_PHRASE_LENGTH = 8  # characters of a two-token phrase


@dataclass(frozen=True)
class Suggestion:
    token: str
    score: float  # ranking: chi-square association with the label times precision
    weight: float  # smoothed log-ratio of the label's message rate versus the others', clipped
    count: int  # messages of this label containing the keyword


def suggest_keywords(
    rows: Iterable[tuple[str, str]],
    tokenize: Callable[[str], list[str]],
    top: int = 20,
    min_count: int = 2,
    min_length: int = 2,
    max_weight: float = 3.0,
    *,
    phrases: bool = True,
    prior: float = 10.0,
    scale_by_size: bool = False,
) -> dict[str, list[Suggestion]]:
    """Propose keywords per label.

    Args:
        rows: (text, label) pairs.
        tokenize: jieba-style tokenizer.
        top: keywords kept per label; with `scale_by_size`, the average per label, each label
            getting a share proportional to its number of messages.
        min_count: a keyword must occur in at least this many messages of the label.
        min_length: shorter tokens (single characters) are not keywords on their own: they match
            everywhere (they can still be part of a phrase).
        max_weight: weights are clipped to [MIN_WEIGHT, max_weight].
        phrases: also propose two adjacent tokens as one phrase.
        prior: strength (in messages) of the Dirichlet prior smoothing the weights.
        scale_by_size: scale each label's number of keywords to its share of the messages.
    """
    ranked = rank_keywords(rows, tokenize, min_count, min_length, phrases=phrases, prior=prior)
    return select_keywords(ranked, top, max_weight, scale_by_size=scale_by_size)


@dataclass(frozen=True)
class RankedKeywords:
    """Every positively associated candidate per label, best first, weights not yet clipped."""

    by_label: dict[str, list[Suggestion]]
    label_docs: dict[str, int]  # messages per label


def rank_keywords(
    rows: Iterable[tuple[str, str]],
    tokenize: Callable[[str], list[str]],
    min_count: int = 2,
    min_length: int = 2,
    *,
    phrases: bool = True,
    prior: float = 10.0,
) -> RankedKeywords:
    """The expensive part of `suggest_keywords` (tokenising, counting, scoring), done once."""
    docs = [(normalise(text), label) for text, label in rows]
    label_docs = Counter(label for _, label in docs)
    # Candidates: tokens/phrases in at least `min_count` messages (as tokens; counted below as the
    # substrings the engine matches, which is at least as often).
    token_df: Counter[str] = Counter()
    for norm, _ in docs:
        token_df.update(_candidates(tokenize(norm), min_length, phrases))
    vocab = [w for w, n in token_df.items() if n >= min_count]
    index = LiteralIndex(vocab)
    doc_freq: dict[str, Counter[str]] = {label: Counter() for label in label_docs}
    overall: Counter[str] = Counter()
    for norm, label in docs:
        present = {lit for lit, _ in index.scan(norm)}
        doc_freq[label].update(present)
        overall.update(present)
    total = len(docs)
    by_label: dict[str, list[Suggestion]] = {}
    for label, counts in doc_freq.items():
        n_in = label_docs[label]
        n_out = total - n_in
        ranked = []
        for token, a in counts.items():
            if a < min_count:
                continue
            b = overall[token] - a
            # Informative Dirichlet prior: `prior` pseudo-messages at the token's overall rate.
            pseudo = prior * overall[token] / total
            log_ratio = math.log(((a + pseudo) / (n_in + prior)) / ((b + pseudo) / (n_out + prior)))
            if log_ratio < MIN_WEIGHT:
                continue
            score = _chi_square(a, b, n_in - a, n_out - b) * a / (a + b)
            ranked.append(Suggestion(token, round(score, 2), log_ratio, a))
        # Ties (small files): shorter keywords first, they are the more general rule.
        ranked.sort(key=lambda s: (-s.score, len(s.token), s.token))
        by_label[label] = ranked
    return RankedKeywords(dict(sorted(by_label.items())), dict(sorted(label_docs.items())))


def select_keywords(
    ranked: RankedKeywords, top: int, max_weight: float = 3.0, *, scale_by_size: bool = False
) -> dict[str, list[Suggestion]]:
    """Keep the best `top` keywords per label (see `suggest_keywords`) and round their weights."""
    total = sum(ranked.label_docs.values())
    labels = len(ranked.label_docs)
    result: dict[str, list[Suggestion]] = {}
    for label, items in ranked.by_label.items():
        keep = top
        if scale_by_size and total:
            keep = max(1, round(top * labels * ranked.label_docs[label] / total))
        result[label] = [
            Suggestion(s.token, s.score, round(min(max_weight, max(MIN_WEIGHT, s.weight)), 1), s.count)
            for s in items[:keep]
        ]
    return result


def to_rules_data(
    suggestions: Mapping[str, Sequence[Suggestion]],
    priorities: Mapping[str, str] | None = None,
    min_score: float = 1.0,
    ambiguity_margin: float = 0.5,
) -> dict[str, Any]:
    """Suggestions as a rules mapping (what `parse_rules` validates)."""
    return {
        "version": 1,
        "settings": {"min_score": min_score, "ambiguity_margin": ambiguity_margin},
        "categories": {
            label: {
                "priority": (priorities or {}).get(label, "normal"),
                "keywords": [{"text": s.token, "weight": s.weight} for s in items],
            }
            for label, items in suggestions.items()
            if items
        },
    }


def to_rules_yaml(
    suggestions: Mapping[str, Sequence[Suggestion]],
    priorities: Mapping[str, str] | None = None,
    min_score: float = 1.0,
    ambiguity_margin: float = 0.5,
) -> str:
    """Render suggestions as a rules file (format of nlp/data/rules.yaml)."""
    data = to_rules_data(suggestions, priorities, min_score, ambiguity_margin)
    header = "# Suggested by `gridbot rules suggest`: review every keyword before using these rules.\n"
    return header + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120
    )


def _candidates(tokens: Sequence[str], min_length: int, phrases: bool) -> set[str]:
    """Useful tokens, plus adjacent pairs of useful tokens joined into a phrase."""
    out: set[str] = set()
    previous: str | None = None
    for raw in tokens:
        token = raw.strip()
        if not _useful(token, 1):
            previous = None
            continue
        if len(token) >= min_length:
            out.add(token)
        if phrases and previous is not None and len(previous) + len(token) <= MAX_PHRASE_LENGTH:
            out.add(previous + token)
        previous = token
    return out


def _useful(token: str, min_length: int) -> bool:
    token = token.strip()
    if len(token) < min_length or token in STOPWORDS:
        return False
    # Pure numbers and punctuation say nothing about the topic.
    return any(ch.isalpha() for ch in token)


def _chi_square(a: int, b: int, c: int, d: int) -> float:
    n = a + b + c + d
    den = (a + b) * (c + d) * (a + c) * (b + d)
    return n * (a * d - b * c) ** 2 / den if den else 0.0
