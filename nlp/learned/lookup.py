"""Where each of many numbers is among a fixed set of them, all at once with numpy: a hash table.

Scoring a block (nlp/learned/batch.py) looks up every character n-gram of every message among the
model's. A binary search (numpy.searchsorted) takes some fifteen dependent, unpredictable steps per
n-gram and was the dearest step of the block; here each n-gram costs a multiplication, a shift and, in a
table four times the size of the set, nearly always a single probe. Collisions move on to the next slot
(linear probing); every step runs over the whole block at once, for the n-grams still looking.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / the golden ratio (Fibonacci hashing)


class NumberTable:
    """The positions of `keys` (distinct non-negative int64 numbers), found for many numbers at once."""

    def __init__(self, keys: Any) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        bits = max(4, (4 * len(keys)).bit_length())
        self._shift = np.uint64(64 - bits)
        self._mask = (1 << bits) - 1
        self._keys = np.full(1 << bits, -1, dtype=np.int64)
        self._positions = np.full(1 << bits, -1, dtype=np.intp)
        # Every key goes in at once too: one of the keys wanting a free slot gets it (whichever numpy wrote
        # last), the others move on; a slot is never freed again, so every key stays reachable from its home.
        waiting = np.arange(len(keys))
        slot = self._home(keys)
        while waiting.size:
            free = self._positions[slot] < 0
            self._positions[slot[free]] = waiting[free]
            placed = self._positions[slot] == waiting
            self._keys[slot[placed]] = keys[waiting[placed]]
            waiting, slot = waiting[~placed], (slot[~placed] + 1) & self._mask

    def _home(self, numbers: Any) -> Any:
        return ((numbers.astype(np.uint64) * _MULTIPLIER) >> self._shift).astype(np.intp)

    def find(self, numbers: Any) -> Any:
        """Each number's position in `keys`, -1 for a number not among them."""
        found = np.full(len(numbers), -1, dtype=np.intp)
        looking = np.arange(len(numbers))
        slot = self._home(numbers)
        while looking.size:
            position = self._positions[slot]
            hit = self._keys[slot] == numbers
            found[looking[hit]] = position[hit]
            on = (position >= 0) & ~hit  # an empty slot ends the search
            looking, slot, numbers = looking[on], (slot[on] + 1) & self._mask, numbers[on]
        return found
