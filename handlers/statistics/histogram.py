"""Durations kept as small histograms of minutes, so medians and 90th percentiles add up over days.

A day's roll-up cannot keep every order's duration and still cost O(days) for a month, so each roll-up row keeps
a sparse histogram: durations under 1,000 minutes (16.7 hours) exactly to the minute, longer ones to three
significant digits (10 minutes up to a week, 100 minutes beyond: at most 1% off). Histograms of days, grids
or members merge by adding counts, and a percentile read from the merge is the same as from the raw values
rounded into those buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta

Histogram = dict[int, int]  # bucket (minutes, rounded down) -> how many

_EXACT_BELOW = 1000


def bucket(minutes: int) -> int:
    """The bucket of a duration in whole minutes: exact below 1,000, three significant digits above."""
    if minutes < _EXACT_BELOW:
        return max(minutes, 0)
    step = 10 ** (len(str(minutes)) - 3)
    return minutes // step * step


def to_minutes(elapsed: timedelta) -> int:
    """Whole minutes, rounded down; negative clock skew counts as zero."""
    return max(int(elapsed.total_seconds() // 60), 0)


def add(histogram: Histogram, minutes: int, count: int = 1) -> None:
    key = bucket(minutes)
    histogram[key] = histogram.get(key, 0) + count


def merge_into(target: Histogram, other: Mapping[int, int]) -> None:
    """Add `other`'s counts to `target` (in place: summing a year of days stays linear)."""
    for key, count in other.items():
        target[key] = target.get(key, 0) + count


def merge(histograms: Iterable[Mapping[int, int]]) -> Histogram:
    merged: Histogram = {}
    for histogram in histograms:
        merge_into(merged, histogram)
    return merged


def percentile(histogram: Mapping[int, int], share: float) -> int | None:
    """Nearest-rank percentile: the smallest bucket with at least `share` of the values at or below it.

    So the median of an even count is the lower middle value, and p90 of ten values is the ninth.
    None when the histogram is empty.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(math.ceil(share * total), 1)
    seen = 0
    for key in sorted(histogram):
        seen += histogram[key]
        if seen >= rank:
            return key
    return max(histogram)


def to_json(histogram: Mapping[int, int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(histogram.items()) if v}


def from_json(data: Mapping[str, int] | None) -> Histogram:
    return {int(k): int(v) for k, v in (data or {}).items()}
