"""Summing day rows into days, ISO weeks or months, per key of a dimension: O(rows), never O(orders)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

from handlers.statistics.metrics import Counters
from handlers.statistics.ports import DayRow


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first
    MONTH = "month"


def period_start(day: date, period: Period) -> date:
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of "YYYY-MM"; ValueError for anything else."""
    year, _, number = month.partition("-")
    if len(year) != 4 or len(number) != 2 or not (year + number).isdigit():
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    if not 1 <= int(number) <= 12:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    first = date(int(year), int(number), 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def summarise(
    rows: Iterable[DayRow], dimension: str, period: Period | None = None
) -> dict[tuple[date | None, str], Counters]:
    """(period start, key) -> summed counters of one dimension; period None sums the whole range."""
    sums: dict[tuple[date | None, str], Counters] = {}
    for row in rows:
        if row.dimension != dimension:
            continue
        slot = (period_start(row.day, period) if period is not None else None, row.key)
        if slot not in sums:
            sums[slot] = Counters()
        sums[slot].add(row.counters)
    return sums


def by_key(rows: Iterable[DayRow], dimension: str) -> dict[str, Counters]:
    """key -> counters of one dimension over all the rows' days."""
    return {key: counters for (_, key), counters in summarise(rows, dimension).items()}


def trend(
    rows: Iterable[DayRow], period: Period, dimension: str = "all", key: str = ""
) -> list[tuple[date, Counters]]:
    """One key's counters per period, in time order (the desk's trend lines)."""
    sums = summarise(rows, dimension, period)
    return sorted(
        ((start, c) for (start, k), c in sums.items() if k == key and start is not None),
        key=lambda item: item[0],
    )
