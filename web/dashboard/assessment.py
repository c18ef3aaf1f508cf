"""考核: per member and per grid, the score from configurable weights (default 响应 30 / 解决 35 / 满意 35)
with the raw figures beside it; each name and figure opens the orders behind it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from handlers.statistics.assessment import Weights
from handlers.statistics.texts import percent
from web.common import desk, render
from web.dashboard.data import load
from web.dashboard.scope import QUICK_DAYS, read_view, statistics_viewer


def read_weights(request: Request) -> tuple[Weights, str]:
    """The weights from `w` ("30,35,35"); the default and a notice when they are not three sensible numbers."""
    text = (request.query_params.get("w") or "").strip()[:40]
    if not text:
        return Weights(), ""
    try:
        return Weights.parse(text), ""
    except ValueError:
        return Weights(), "权重请填写三个非负数，用逗号分开，例如 30,35,35；已按默认权重计算。"


async def assessment(request: Request) -> Response:
    viewer = await statistics_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    view = read_view(request, viewer)
    weights, problem = read_weights(request)
    state = desk(request)
    async with state.uow_factory() as uow:
        figures = await load(uow, view, state.categories, weights, with_trend=False)
    w = weights
    return render(
        request,
        "dashboard/assessment.html",
        viewer,
        view=view,
        report=figures.report,
        grids=figures.grids,
        weights=w,
        weights_text=f"{w.response:g},{w.resolution:g},{w.satisfaction:g}",
        problem=problem,
        quick_days=QUICK_DAYS,
        pct=percent,
    )
