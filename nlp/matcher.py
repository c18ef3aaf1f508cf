"""Find every occurrence of many literal keywords in one pass over the text.

Keywords are indexed by their first two characters, so each position of the message costs one or
two dict look-ups plus a `startswith` per keyword sharing those characters. That is several times cheaper
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
    """A first-character index over a fixed set of literals, with a second-character level.

    One-character literals are answered by the first look-up alone; longer ones are grouped by
    their second character (longest first), so each position only tries the few literals that can
    still match.
    """

    def __init__(self, literals: Iterable[str]) -> None:
        singles: set[str] = set()
        longer: dict[str, dict[str, list[str]]] = {}
        for lit in sorted(set(literals), key=len, reverse=True):
            if len(lit) == 1:
                singles.add(lit)
            else:
                longer.setdefault(lit[0], {}).setdefault(lit[1], []).append(lit)
        self._by_first: dict[str, tuple[bool, dict[str, tuple[str, ...]]]] = {
            ch: (ch in singles, {c2: tuple(lits) for c2, lits in longer.get(ch, {}).items()})
            for ch in singles | set(longer)
        }

    def scan(self, text: str) -> list[tuple[str, int]]:
        """All hits as (literal, start), overlapping ones included, by start (longer first).

        The hot path of classification: plain tuples, no per-hit objects.
        """
        hits: list[tuple[str, int]] = []
        get = self._by_first.get
        last = len(text) - 1
        for i, ch in enumerate(text):
            entry = get(ch)
            if entry is None:
                continue
            single, by_second = entry
            if by_second and i < last:
                candidates = by_second.get(text[i + 1])
                if candidates is not None:
                    for lit in candidates:
                        if text.startswith(lit, i):
                            hits.append((lit, i))
            if single:
                hits.append((ch, i))
        return hits

    def find(self, text: str) -> list[Hit]:
        """Return all hits, overlapping ones included, in order of start position (longer first)."""
        return [Hit(lit, start, start + len(lit)) for lit, start in self.scan(text)]
