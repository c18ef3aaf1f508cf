"""Mine candidate keywords per label from labelled messages (chi-square ranking, log-odds weights).

Staff can turn historical ledgers into rules: the output is a rules file that `load_rules`
accepts as is, to be reviewed and pasted into the community's rules.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import yaml

from nlp.normalise import normalise

# Function words that co-occur with every label; never useful as a rule.
_STOPWORDS_TEXT = (
    "的 了 是 在 我 你 他 她 它 们 我们 你们 他们 有 和 就 都 也 还 很 不 没 这 那 这个 那个 一个 什么 怎么 "
    "吗 吧 呢 啊 呀 哦 嗯 给 把 被 让 对 从 到 说 要 会 能 可以 已经 现在 因为 所以 但是 如果 而且 或者 "
    "请 您好 你好 谢谢 问题 情况 希望 相关 进行 一下 这样 没有 自己 多 好 大 小 上 下 里 中 后 前"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True)
class Suggestion:
    token: str
    score: float  # chi-square association with the label (ranking)
    weight: float  # rounded log-odds of appearing in this label's messages versus the others'
    count: int  # messages of this label containing the token


def suggest_keywords(
    rows: Iterable[tuple[str, str]],
    tokenize: Callable[[str], list[str]],
    top: int = 20,
    min_count: int = 2,
    min_length: int = 2,
    max_weight: float = 3.0,
) -> dict[str, list[Suggestion]]:
    """Rank tokens per label.

    Args:
        rows: (text, label) pairs.
        tokenize: jieba-style tokenizer.
        top: suggestions kept per label.
        min_count: a token must occur in at least this many messages of the label.
        min_length: shorter tokens (single characters) are skipped: they match everywhere.
        max_weight: weights are clipped to [0.5, max_weight].
    """
    doc_freq: dict[str, Counter[str]] = {}
    label_docs: Counter[str] = Counter()
    for text, label in rows:
        label_docs[label] += 1
        tokens = {t for t in tokenize(normalise(text)) if _useful(t, min_length)}
        doc_freq.setdefault(label, Counter()).update(tokens)
    total_docs = sum(label_docs.values())
    overall: Counter[str] = Counter()
    for counts in doc_freq.values():
        overall.update(counts)
    result: dict[str, list[Suggestion]] = {}
    for label, counts in doc_freq.items():
        n_in = label_docs[label]
        n_out = total_docs - n_in
        ranked = []
        for token, a in counts.items():
            if a < min_count:
                continue
            b = overall[token] - a
            if n_out and a * (n_out - b) <= b * (n_in - a):
                continue  # not positively associated with this label
            chi2 = _chi_square(a, b, n_in - a, n_out - b)
            log_odds = math.log(((a + 0.5) / (n_in + 1)) / ((b + 0.5) / (n_out + 1)))
            weight = round(min(max_weight, max(0.5, log_odds)), 1)
            ranked.append(Suggestion(token, round(chi2, 2), weight, a))
        ranked.sort(key=lambda s: (-s.score, s.token))
        result[label] = ranked[:top]
    return dict(sorted(result.items()))


def to_rules_yaml(
    suggestions: Mapping[str, Sequence[Suggestion]],
    priorities: Mapping[str, str] | None = None,
    min_score: float = 1.0,
    ambiguity_margin: float = 0.5,
) -> str:
    """Render suggestions as a rules file (format of nlp/data/rules.yaml)."""
    data = {
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
    header = "# Suggested by `gridbot rules suggest`: review every keyword before using these rules.\n"
    return header + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120
    )


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
