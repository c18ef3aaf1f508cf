"""What a statistics page shows: whose figures (the community, or a grid leader's grid), which days, and
links to the orders behind a figure (the order list's own filters, as query parameters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from handlers.community.model import Role
from handlers.statistics.periods import Period, month_bounds
from web.auth import Viewer
from web.common import desk, int_field, login_needed, render, viewer_of

QUICK_DAYS = (7, 30, 90, 365)
MAX_DAYS = 3660


@dataclass(frozen=True)
class View:
    """The figures' scope and period; `grid_id` None means the whole community (staff only)."""

    first: date
    last: date
    now: datetime
    grid_id: int | None
    grid_ids: tuple[int, ...]  # the grids the viewer may pick (all for staff: empty means "any")
    staff: bool

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def period(self) -> Period:
        if self.days <= 45:
            return Period.DAY
        return Period.WEEK if self.days <= 200 else Period.MONTH

    def orders(self, first: date | None = None, last: date | None = None, **filters: object) -> str:
        """The order list filtered to this view's grid and the days first..last (default: the view's).

        Built by hand, not with urlencode: a page holds a few hundred of these links."""
        params = []
        if self.grid_id is not None and "grid" not in filters:
            params.append(f"grid={self.grid_id}")
        params += [f"{k}={quote(str(v), safe='')}" for k, v in filters.items() if v is not None and v != ""]
        params.append(f"from={(first or self.first).isoformat()}&to={(last or self.last).isoformat()}")
        return "/orders?" + "&".join(params)

    def query(self, **extra: object) -> str:
        """This view's own query string (period and grid), for links between the statistics pages."""
        params: dict[str, object] = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.grid_id is not None:
            params["grid"] = self.grid_id
        params.update({k: v for k, v in extra.items() if v is not None})
        return urlencode(params)


def may_see_statistics(viewer: Viewer) -> bool:
    return viewer.is_staff or (viewer.person.has(Role.GRID_LEADER) and bool(viewer.scope.grid_ids))


async def statistics_viewer(request: Request) -> Viewer | Response:
    """The signed-in staff member or grid leader; otherwise the page to answer with (login, 403)."""
    viewer = await viewer_of(request)
    if viewer is None:
        return login_needed(request)
    if not may_see_statistics(viewer):
        return render(request, "forbidden.html", viewer, status=403)
    return viewer


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def read_view(request: Request, viewer: Viewer) -> View:
    """The period from `month` (YYYY-MM), or `from`/`to`, or `days` (default the last 30); the grid from
    `grid` within what the viewer may see (a grid leader always sees one of their grids)."""
    state = desk(request)
    now = state.clock.now().astimezone(state.zone)
    today = now.date()
    q = request.query_params
    first, last = _date(q.get("from")), _date(q.get("to"))
    month = q.get("month") or ""
    if month:
        try:
            first, last = month_bounds(month)
        except ValueError:
            first = last = None
    if first is not None and last is None:
        last = today  # "from" alone, as the order list reads it
    if first is None and last is not None:
        first = last - timedelta(days=MAX_DAYS - 1)
    if first is None and last is None and q.get("all") == "1":
        first, last = today - timedelta(days=MAX_DAYS - 1), today  # the order list without dates
    if first is None or last is None or first > last or (last - first).days >= MAX_DAYS:
        days = int_field(q.get("days")) or 30
        days = days if 0 < days <= MAX_DAYS else 30
        first, last = today - timedelta(days=days - 1), today
    wanted = int_field(q.get("grid"))
    if viewer.is_staff:
        return View(first, last, now, wanted, (), True)
    mine = tuple(sorted(viewer.scope.grid_ids))
    own = viewer.person.grid_id if viewer.person.grid_id in mine else mine[0]
    return View(first, last, now, wanted if wanted in mine else own, mine, False)
