"""统计: the dashboard. Trend lines, category bars, the compound x category table and the grid and member
rankings, every figure a link to the orders behind it; charts are server-drawn SVG (no script, no CDN)."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from handlers.charts.statistics import category_figure, trend_figure
from handlers.charts.svg import to_svg
from handlers.statistics.metrics import Counters
from handlers.statistics.report import Report
from handlers.statistics.rollup import NONE
from handlers.statistics.texts import percent
from web.common import desk, render
from web.dashboard.data import load
from web.dashboard.scope import QUICK_DAYS, View, read_view, statistics_viewer

# Drawn for a phone (360 px): the SVG scales to its card, so text stays legible on small screens.
CHART_WIDTH = 400


def _tiles(view: View, c: Counters) -> list[tuple[str, str, str]]:
    """(label, value, link) of the headline figures: the period's orders, or the ones a filter picks."""
    return [
        ("新增", str(c.new), view.orders()),
        ("办结", str(c.resolved), view.orders()),
        ("按时签收率", percent(c.accept_on_time_rate), view.orders()),
        ("按时办结率", percent(c.resolve_on_time_rate), view.orders()),
        ("满意率", percent(c.satisfaction_rate), view.orders()),
        ("一次办结率", percent(c.first_time_rate), view.orders()),
        ("超期办结", str(c.late_resolves), view.orders(overdue="1")),
        ("督办", str(c.supervised), view.orders(supervised="1")),
    ]


def _cell(view: View, report: Report, compound: str, category: str) -> tuple[int, str]:
    """(new orders, the link to them) of one compound x category cell; (0, "") when empty."""
    counters = report.crossed_keys.get((compound, category))
    if counters is None or not counters.new:
        return 0, ""
    return counters.new, view.orders(compound=compound if compound != NONE else None, category=category)


async def dashboard(request: Request) -> Response:
    viewer = await statistics_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    view = read_view(request, viewer)
    state = desk(request)
    async with state.uow_factory() as uow:
        figures = await load(uow, view, state.categories)
    report = figures.report

    def period_link(first: date, last: date) -> str:
        return view.orders(first, last)

    def category_link(category: str) -> str:
        return view.orders(category=category)

    trend_svg = Markup(to_svg(trend_figure(figures.trend, view.period, period_link, CHART_WIDTH)))  # noqa: S704 - escaped
    bars_svg = Markup(to_svg(category_figure(report, category_link, width=CHART_WIDTH)))  # noqa: S704 - escaped in to_svg
    categories = sorted({k for _, k in report.crossed_keys}, key=report.category_name)
    compounds = sorted({k for k, _ in report.crossed_keys}, key=lambda k: figures.compounds.get(k, k))
    crossed = [
        (
            figures.compounds.get(compound, "未填写位置"),
            [_cell(view, report, compound, c) for c in categories],
        )
        for compound in compounds
    ]
    return render(
        request,
        "dashboard/index.html",
        viewer,
        view=view,
        report=report,
        grids=figures.grids,
        tiles=_tiles(view, report.total),
        trend_svg=trend_svg,
        bars_svg=bars_svg,
        crossed_categories=[report.category_name(k) for k in categories],
        crossed=crossed,
        quick_days=QUICK_DAYS,
        pct=percent,
        last_month=(view.now.date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
    )
