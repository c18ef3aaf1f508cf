"""The dashboard's figures: one report from the day rows (O(days)) and the trend of its scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.charts.statistics import fill_periods
from handlers.community.model import Grid
from handlers.statistics.assessment import Weights
from handlers.statistics.metrics import Counters
from handlers.statistics.periods import trend
from handlers.statistics.ports import statistics_of
from handlers.statistics.report import Report, build_report
from nlp.categories import Catalog
from storage.uow import SqlUnitOfWork
from web.dashboard.scope import View


@dataclass
class Figures:
    report: Report
    trend: list[tuple[date, date, Counters]]
    grids: list[Grid]  # the grids the viewer may pick
    compounds: dict[str, str]  # compound key -> name


async def load(
    uow: SqlUnitOfWork,
    view: View,
    categories: Catalog,
    weights: Weights | None = None,
    with_trend: bool = True,
) -> Figures:
    report = await build_report(
        uow,
        view.first,
        view.last,
        view.now,
        weights,
        grid_id=view.grid_id,
        lists=False,
        crossed=view.grid_id is None,
        durations=False,
        categories=categories,
    )
    points: list[tuple[date, date, Counters]] = []
    if with_trend:
        dimension = "all" if view.grid_id is None else "grid"
        key = "" if view.grid_id is None else str(view.grid_id)
        rows = await statistics_of(uow).rows(view.first, view.last, [dimension], histograms=False, keys=[key])
        points = fill_periods(trend(rows, view.period, dimension, key), view.first, view.last, view.period)
    grids = [g for g in await uow.community.grids() if view.staff or g.id in view.grid_ids]
    compounds = {s.key: s.name for s in report.by_compound}  # every compound with a figure, named
    return Figures(report, points, grids, compounds)
