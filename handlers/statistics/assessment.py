"""考核: a score per grid member and per grid from 响应率, 解决率 and 满意率, with the raw figures beside it.

score = sum(weight_i * rate_i) / sum(weight_i), over the rates that are defined (a member nobody rated is
scored on the other two, and the table says so with "—"); rates in percent, so the score is 0..100.
- 响应率 = 按时签收率 = accept_on_time / accept_judged
- 解决率 = 按时办结率 = resolve_on_time / resolve_judged
- 满意率 = (satisfied + basically) / rated
Default weights 30 / 35 / 35, as one city's 12345 platform weighs them; configurable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handlers.statistics.metrics import Counters


@dataclass(frozen=True)
class Weights:
    response: float = 30.0
    resolution: float = 35.0
    satisfaction: float = 35.0

    @classmethod
    def parse(cls, text: str) -> Weights:
        """ "30,35,35" -> Weights; ValueError for anything else (three non-negative numbers, not all 0)."""
        parts = [p.strip() for p in text.replace("/", ",").split(",")]
        if len(parts) != 3:
            raise ValueError("weights are three numbers: response,resolution,satisfaction")
        try:
            values = [float(p) for p in parts]
        except ValueError as error:
            raise ValueError("weights are three numbers: response,resolution,satisfaction") from error
        if any(v < 0 for v in values) or not any(values):
            raise ValueError("weights must be non-negative and not all zero")
        return cls(*values)


@dataclass(frozen=True)
class Assessment:
    key: str  # person id or grid id (as stored in the day rows)
    name: str
    counters: Counters
    score: float | None  # None when none of the three rates is defined

    @property
    def response_rate(self) -> float | None:
        return self.counters.accept_on_time_rate

    @property
    def resolution_rate(self) -> float | None:
        return self.counters.resolve_on_time_rate

    @property
    def satisfaction_rate(self) -> float | None:
        return self.counters.satisfaction_rate


def score(counters: Counters, weights: Weights) -> float | None:
    parts = [
        (weights.response, counters.accept_on_time_rate),
        (weights.resolution, counters.resolve_on_time_rate),
        (weights.satisfaction, counters.satisfaction_rate),
    ]
    defined = [(w, r) for w, r in parts if r is not None and w > 0]
    if not defined:
        return None
    return sum(w * r * 100 for w, r in defined) / sum(w for w, _ in defined)


def assess(
    counters_by_key: Mapping[str, Counters], names: Mapping[str, str], weights: Weights | None = None
) -> list[Assessment]:
    """The table, best score first (unscored last), then by name; keys without a name are left out
    (orders nobody held, people no longer in the community structure)."""
    weights = weights or Weights()
    table = [
        Assessment(key, names[key], counters, score(counters, weights))
        for key, counters in counters_by_key.items()
        if key in names
    ]
    return sorted(table, key=lambda a: (a.score is None, -(a.score or 0.0), a.name))
