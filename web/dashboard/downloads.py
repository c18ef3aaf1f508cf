"""下载: the filtered orders as CSV or Excel and the monthly workbook, written by handlers/statistics/exports
(streamed to a temporary file, sent, deleted) and recorded in the audit log (what was exported, never data)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from handlers.ports import UnitOfWork
from handlers.statistics.exports import (
    day_range,
    export_orders_csv,
    export_orders_xlsx,
    write_monthly_workbook,
)
from handlers.statistics.periods import month_bounds
from handlers.statistics.ports import OrderFilter
from handlers.workorders.model import OrderState
from web.auth import Viewer
from web.common import audit, desk, int_field, login_needed, render, viewer_of
from web.dashboard.assessment import read_weights
from web.dashboard.scope import View, read_view, statistics_viewer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Writer = Callable[[UnitOfWork, Path], Awaitable[object]]


def _selection(request: Request, view: View) -> OrderFilter:
    """The order list's filters (category, compound, grid, assignee, state, from/to, search, overdue, 督办,
    green channel) within the viewer's scope: the file holds what the list shows."""
    q = request.query_params
    start, end = day_range(view.first, view.last, view.now.tzinfo or desk(request).zone)
    states: list[str] = []
    for value in q.getlist("state"):
        if value == "open":
            states += [s.value for s in OrderState if s.is_open]
        elif value in {s.value for s in OrderState}:
            states.append(value)
    return OrderFilter(
        start,
        end,
        category=(q.get("category") or None),
        compound_id=int_field(q.get("compound")),
        grid_id=view.grid_id,
        assignee_id=int_field(q.get("assignee")),
        states=tuple(states),
        search=(q.get("q") or "").strip()[:100],  # as the list reads it (web/orders.py)
        late_at=view.now if q.get("overdue") == "1" else None,
        supervised=q.get("supervised") == "1",
        green_channel=q.get("green") == "1",
    )


async def _send(
    request: Request, viewer: Viewer, name: str, media: str, write: Writer, record: str, fields: list[str]
) -> Response:
    handle, raw = tempfile.mkstemp(prefix="gridbot-export-", suffix=Path(name).suffix)
    os.close(handle)
    path = Path(raw)
    state = desk(request)
    try:
        async with state.uow_factory() as uow:
            await write(uow, path)
            await audit(uow, viewer, request, "export", record, fields)
            await uow.commit()
    except BaseException:
        os.remove(raw)  # written by nobody else: a failed export leaves nothing behind
        raise
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store",
    }
    return FileResponse(path, media_type=media, headers=headers, background=BackgroundTask(path.unlink))


async def orders_file(request: Request) -> Response:
    viewer = await statistics_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    view = read_view(request, viewer)
    selection = _selection(request, view)
    zone, categories = desk(request).zone, desk(request).categories
    kind = str(request.path_params["kind"])
    if kind not in ("csv", "xlsx"):
        return render(request, "not_found.html", viewer, status=404)
    stem = f"工单_{view.first.isoformat()}_{view.last.isoformat()}"
    fields = ["order.text", "order.resolution_note", f"from:{view.first}", f"to:{view.last}"]
    if selection.search:  # what was searched for is personal data: only that there was a search
        fields.append("search")
    if view.grid_id is not None:
        fields.append(f"grid:{view.grid_id}")

    if kind == "csv":

        async def write_csv(uow: UnitOfWork, path: Path) -> object:
            with path.open("w", encoding="utf-8-sig", newline="") as stream:
                return await export_orders_csv(uow, selection, stream, zone, categories=categories)

        return await _send(
            request, viewer, stem + ".csv", "text/csv; charset=utf-8", write_csv, "orders:csv", fields
        )

    async def write_xlsx(uow: UnitOfWork, path: Path) -> object:
        return await export_orders_xlsx(uow, selection, path, zone, categories=categories)

    return await _send(request, viewer, stem + ".xlsx", XLSX, write_xlsx, "orders:xlsx", fields)


async def monthly_file(request: Request) -> Response:
    """The month's workbook for the 街道 (staff: it covers the whole community)."""
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    if not viewer.is_staff:
        return render(request, "forbidden.html", viewer, status=403)
    state = desk(request)
    now = state.clock.now().astimezone(state.zone)
    month = (request.query_params.get("month") or "").strip()[:7]
    if not month:
        month = (now.date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    try:
        month_bounds(month)
    except ValueError:
        return render(request, "not_found.html", viewer, status=404)
    weights, _ = read_weights(request)

    async def write(uow: UnitOfWork, path: Path) -> object:
        return await write_monthly_workbook(uow, month, now, path, weights, categories=state.categories)

    fields = ["report.monthly", "order.text", "rating.comment", f"month:{month}"]
    return await _send(request, viewer, f"月报_{month}.xlsx", XLSX, write, "report:monthly", fields)
