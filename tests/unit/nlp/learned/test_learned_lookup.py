"""The batch scorer's hash table (nlp/learned/lookup.py) finds exactly the numbers it holds."""

from __future__ import annotations

import numpy as np

from nlp.learned.lookup import NumberTable


def test_every_key_is_found_at_its_position_and_nothing_else_is() -> None:
    rng = np.random.default_rng(7)
    for size in (0, 1, 2, 3, 5, 40, 3000):  # small tables: many keys share a home slot and probe on
        keys = rng.choice(2**62, size=size, replace=False).astype(np.int64)
        keys[: min(size, 2)] = [0, 2**63 - 1][: min(size, 2)]
        others = rng.integers(0, 2**63 - 1, size=500, dtype=np.int64)
        others = others[~np.isin(others, keys)]
        numbers = np.concatenate([keys, others, keys[::-1], keys[:1]])
        expected = {int(k): i for i, k in enumerate(keys)}
        found = NumberTable(keys).find(numbers)
        assert found.tolist() == [expected.get(int(n), -1) for n in numbers]
    assert NumberTable(np.array([5], dtype=np.int64)).find(np.array([], dtype=np.int64)).tolist() == []
