"""A period's report from the day rows: the summary, the breakdowns, 考核 and the lists behind them.

`build_report` is what the CLI's monthly workbook, `/report`, `/stats` and the desk call; it reads O(days)
rows plus the (short) lists of late and dissatisfied orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from handlers.community.model import HANDLING_ROLES
from handlers.ports import UnitOfWork
from handlers.statistics.assessment import Assessment, Weights, assess
from handlers.statistics.metrics import Counters
from handlers.statistics.periods import by_key
from handlers.statistics.ports import OrderLine, statistics_of
from handlers.statistics.rollup import ALL, NONE, day_bounds
from nlp.categories import SHIPPED, Catalog

NO_PLACE = "未填写位置"
DURATION_DIMENSIONS = ("all", "category", "compound", "grid", "assignee")
NOBODY = "未分派"


@dataclass(frozen=True)
class Slice:
    key: str
    name: str
    counters: Counters


@dataclass
class Report:
    first: date
    last: date
    generated_at: datetime
    weights: Weights
    total: Counters
    by_category: list[Slice] = field(default_factory=list)
    by_compound: list[Slice] = field(default_factory=list)
    by_grid: list[Slice] = field(default_factory=list)
    by_member: list[Slice] = field(default_factory=list)
    compound_category: dict[tuple[str, str], Counters] = field(default_factory=dict)
    # The same table by stored keys (compound id or "-", category value), for links to the orders behind it.
    crossed_keys: dict[tuple[str, str], Counters] = field(default_factory=dict)
    members: list[Assessment] = field(default_factory=list)
    grids: list[Assessment] = field(default_factory=list)
    late: list[OrderLine] = field(default_factory=list)  # late acceptances / resolutions in the period
    open_overdue: list[OrderLine] = field(default_factory=list)  # still open, due in the period, past due
    dissatisfied: list[OrderLine] = field(default_factory=list)
    grid_id: int | None = None  # a grid leader's report: only their grid and its members
    categories: Catalog = SHIPPED  # the community's category names, for every table that shows one

    def category_name(self, key: str) -> str:
        return self.categories.label(key)

    @property
    def title(self) -> str:
        if (
            self.first.day == 1
            and (self.last + timedelta(days=1)).day == 1
            and self.first.month == self.last.month
        ):
            return f"{self.first.year}年{self.first.month}月"
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"


def _slices(counters: dict[str, Counters], names: dict[str, str], fallback: str) -> list[Slice]:
    items = [Slice(k, names.get(k, fallback if k == NONE else k), c) for k, c in counters.items()]
    return sorted(items, key=lambda s: (-s.counters.new, -s.counters.resolved, s.name))


async def build_report(
    uow: UnitOfWork,
    first: date,
    last: date,
    now: datetime,
    weights: Weights | None = None,
    *,
    grid_id: int | None = None,
    lists: bool = True,
    durations: bool = True,
    crossed: bool = True,
    categories: Catalog,
) -> Report:
    """The report of days first..last, categories by the community's names; `grid_id` narrows it to one
    grid (a grid leader's own).

    `lists=False` (chat, dashboards) leaves out the order lists and the durations of the breakdowns;
    `crossed=False` the compound x category table (a grid leader's report reads its grid x category anyway);
    `durations=False` the medians and 90th percentiles (the desk's dashboard shows none: their histograms are
    most of what a long period reads).
    """
    stats = statistics_of(uow)
    zone: tzinfo | None = now.tzinfo
    assert zone is not None
    weights = weights or Weights()
    # Durations (median, p90) for the slices the tables show; the crossed dimensions only count.
    dimensions = list(DURATION_DIMENSIONS)
    if grid_id is not None:
        dimensions.append("grid_category")  # a grid's categories
    elif crossed:
        dimensions.append("compound_category")
    with_durations = (DURATION_DIMENSIONS if lists else ("all", "grid")) if durations else ()
    rows = await stats.totals(first, last, dimensions, with_durations)
    community = uow.community
    compounds = {str(c.id): c.name for c in await community.compounds()}
    grids = {str(g.id): g.name for g in await community.grids()}
    people = [p for p in await community.people() if p.has(*HANDLING_ROLES)]
    if grid_id is not None:
        people = [p for p in people if p.grid_id == grid_id]
        grids = {k: v for k, v in grids.items() if k == str(grid_id)}
    members = {str(p.id): p.name for p in people}
    per_grid = by_key(rows, "grid")
    per_member = {k: c for k, c in by_key(rows, "assignee").items() if grid_id is None or k in members}
    if grid_id is not None:
        total = per_grid.get(str(grid_id), Counters())
        by_category = {
            k.partition(":")[2]: c
            for k, c in by_key(rows, "grid_category").items()
            if k.partition(":")[0] == str(grid_id)
        }
        by_compound: dict[str, Counters] = {}
        per_grid = {k: c for k, c in per_grid.items() if k == str(grid_id)}
    else:
        total = by_key(rows, "all").get(ALL, Counters())
        by_category = by_key(rows, "category")
        by_compound = by_key(rows, "compound")
    report = Report(
        first=first,
        last=last,
        generated_at=now,
        weights=weights,
        total=total,
        by_category=_slices(by_category, {k: categories.label(k) for k in by_category}, "-"),
        by_compound=_slices(by_compound, compounds, NO_PLACE),
        by_grid=_slices(per_grid, grids, "未划网格"),
        by_member=_slices(per_member, members, NOBODY),
        members=assess(per_member, members, weights),
        grids=assess(per_grid, grids, weights),
        grid_id=grid_id,
        categories=categories,
    )
    if grid_id is None:
        for key, counters in by_key(rows, "compound_category").items():
            compound, _, category = key.partition(":")
            report.crossed_keys[(compound, category)] = counters
            report.compound_category[(compounds.get(compound, NO_PLACE), categories.label(category))] = (
                counters
            )
    if lists:
        start, _ = day_bounds(first, zone)
        _, end = day_bounds(last, zone)
        report.late = _in_grid(await stats.late_orders(first, last), grid_id)
        report.open_overdue = _in_grid(
            [o for o in await stats.open_overdue(now) if o.due_at is not None and start <= o.due_at < end],
            grid_id,
        )
        report.dissatisfied = _in_grid(await stats.dissatisfied(start, end), grid_id)
    return report


def _in_grid(lines: list[OrderLine], grid_id: int | None) -> list[OrderLine]:
    return lines if grid_id is None else [line for line in lines if line.grid_id == grid_id]
