"""Statistics in chat: /stats with the breakdown and /report with a month's summary.

Staff see the community; a grid leader sees their own grid and its members. The figures come from the
day rows (a few minutes behind at most: the roll-up tick), except the live part of /stats for staff.
"""

from __future__ import annotations

from datetime import date, timedelta

from handlers.community.model import Person, Role
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.statistics import texts
from handlers.statistics.periods import month_bounds
from handlers.statistics.report import build_report
from handlers.workorders import texts as order_texts


def _scope(person: Person | None) -> int | None:
    """None for staff (the community); the grid id for a grid leader; NotAuthorised for anyone else."""
    if person is not None and person.is_staff:
        return None
    if person is not None and person.has(Role.GRID_LEADER) and person.grid_id is not None:
        return person.grid_id
    raise NotAuthorised("not_staff")


async def stats(ctx: Context, args: str) -> None:
    """/stats [days]: the period's figures and the breakdown (staff: grids and categories; leaders: members)."""
    grid_id = _scope(ctx.person)
    days = int(args) if args.isdigit() and 0 < int(args) <= 3660 else 30
    now = ctx.clock.now()
    today = now.date()
    report = await build_report(
        ctx.uow,
        today - timedelta(days=days - 1),
        today,
        now,
        grid_id=grid_id,
        lists=False,
        categories=ctx.categories,
    )
    parts: list[str] = []
    if grid_id is None:
        parts.append(
            order_texts.statistics(
                days, await ctx.uow.orders.statistics(now - timedelta(days=days), now), ctx.categories.label
            )
        )
    else:
        grid = await ctx.uow.community.grid(grid_id)
        parts.append(f"📊 {grid.name if grid else '本网格'} 近 {days} 天：")
    parts.append("\n".join(texts.headline(report.total)))
    more = texts.breakdown(report)
    if more:
        parts.append(more)
    await ctx.answer("\n".join(parts))


def _month(args: str, today: date) -> str | None:
    if not args:
        first_of_this = today.replace(day=1)
        return (first_of_this - timedelta(days=1)).strftime("%Y-%m")  # last month: what gets reported
    try:
        month_bounds(args)
    except ValueError:
        return None
    return args


async def report(ctx: Context, args: str) -> None:
    """/report [YYYY-MM]: a month's summary (last month by default); the workbook comes from the desk or CLI."""
    grid_id = _scope(ctx.person)
    now = ctx.clock.now()
    month = _month(args.strip(), now.date())
    if month is None:
        await ctx.answer(texts.BAD_MONTH)
        return
    first, last = month_bounds(month)
    result = await build_report(
        ctx.uow, first, last, now, grid_id=grid_id, crossed=False, categories=ctx.categories
    )
    if result.total.is_empty():
        await ctx.answer(texts.NO_DATA)
        return
    scope = ""
    if grid_id is not None:
        grid = await ctx.uow.community.grid(grid_id)
        scope = grid.name if grid else ""
    await ctx.answer(texts.report_summary(result, scope))
    await ctx.answer(texts.REPORT_FILE_HINT.format(month=month))
