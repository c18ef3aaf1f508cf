"""The statistics figures the desk and chat both show: new and resolved orders over time, new orders by category.

`link` turns a slice into the address of the orders behind it (the desk's order list); chat passes none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from handlers.charts.figure import Bar, Figure, Series, bar_chart, line_chart
from handlers.statistics.metrics import Counters
from handlers.statistics.periods import Period, period_start
from handlers.statistics.report import Report

# (first day, last day) of a period -> link; (category value) -> link
PeriodLink = Callable[[date, date], str]
CategoryLink = Callable[[str], str]


def period_label(start: date, period: Period) -> str:
    if period is Period.MONTH:
        return start.strftime("%Y-%m")
    return start.strftime("%m-%d")


def trend_figure(
    points: Sequence[tuple[date, date, Counters]],
    period: Period,
    link: PeriodLink | None = None,
    width: int = 640,
) -> Figure:
    """New and resolved orders per period; each dot links to the orders reported in its period."""
    labels = [period_label(start, period) for start, _, _ in points]
    hrefs = [link(start, end) for start, end, _ in points] if link else []
    unit = {Period.DAY: "每天", Period.WEEK: "每周", Period.MONTH: "每月"}[period]
    return line_chart(
        f"工单趋势（{unit}）",
        labels,
        [
            Series("新增", [c.new for _, _, c in points], hrefs),
            Series("办结", [c.resolved for _, _, c in points], hrefs),
        ],
        width,
    )


def category_figure(
    report: Report, link: CategoryLink | None = None, limit: int = 12, width: int = 640
) -> Figure:
    """New orders by category, biggest first."""
    slices = [s for s in report.by_category if s.counters.new][:limit]
    bars = [Bar(s.name, s.counters.new, link(s.key) if link else "", " 张") for s in slices]
    return bar_chart("各类别新增工单", bars, width)


def fill_periods(
    trend: Sequence[tuple[date, Counters]], first: date, last: date, period: Period
) -> list[tuple[date, date, Counters]]:
    """Every period from `first` to `last` (empty ones as zero), each with its first and last day inside the range."""
    found = dict(trend)
    points: list[tuple[date, date, Counters]] = []
    day = first
    while day <= last:
        start = period_start(day, period)
        following = _next_start(start, period)
        end = min(following - timedelta(days=1), last)
        points.append((max(start, first), end, found.get(start, Counters())))
        day = following
    return points


def _next_start(start: date, period: Period) -> date:
    if period is Period.DAY:
        return start + timedelta(days=1)
    if period is Period.WEEK:
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)
