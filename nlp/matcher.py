"""Find every occurrence of many literal keywords in one pass over the text.

Keywords are indexed by their first character, so each position of the message costs one dict
look-up plus a `startswith` per keyword sharing that character. That is several times cheaper
than segmenting the message with jieba, which is why rules match on the raw (normalised) string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    literal: str
    start: int
    end: int


class LiteralIndex:
    """A first-character index over a fixed set of literals."""

    def __init__(self, literals: Iterable[str]) -> None:
        by_first: dict[str, list[str]] = {}
        for lit in sorted(set(literals), key=len, reverse=True):
            by_first.setdefault(lit[0], []).append(lit)
        self._by_first = {ch: tuple(lits) for ch, lits in by_first.items()}

    def find(self, text: str) -> list[Hit]:
        """Return all hits, overlapping ones included, in order of start position."""
        hits: list[Hit] = []
        get = self._by_first.get
        for i, ch in enumerate(text):
            candidates = get(ch)
            if candidates is None:
                continue
            for lit in candidates:
                if text.startswith(lit, i):
                    hits.append(Hit(lit, i, i + len(lit)))
        return hits
