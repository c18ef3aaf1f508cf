"""Statistics in chat: /stats with the breakdown and a chart (PNG), /report with a month's summary and, for
staff, the month's workbook as a file.

Staff see the community; a grid leader sees their own grid and its members. The figures come from the
day rows (a few minutes behind at most: the roll-up tick), except the live part of /stats for staff.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from handlers.charts.png import to_png
from handlers.charts.statistics import fill_periods, trend_figure
from handlers.community.model import Person, Role
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.messages import MAX_ATTACHMENT_BYTES, Attachment, AttachmentKind
from handlers.statistics import texts
from handlers.statistics.exports import write_monthly_workbook
from handlers.statistics.periods import Period, month_bounds, trend
from handlers.statistics.ports import statistics_of
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
    await _send_chart(ctx, today - timedelta(days=days - 1), today, grid_id, days)
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


async def _send_chart(ctx: Context, first: date, last: date, grid_id: int | None, days: int) -> None:
    """The period's new and resolved orders as a PNG line chart (nothing when there is nothing to draw)."""
    dimension, key = ("all", "") if grid_id is None else ("grid", str(grid_id))
    rows = await statistics_of(ctx.uow).rows(first, last, [dimension], histograms=False, keys=[key])
    period = Period.DAY if days <= 45 else Period.WEEK if days <= 200 else Period.MONTH
    points = fill_periods(trend(rows, period, dimension, key), first, last, period)
    if not any(c.new or c.resolved for _, _, c in points):
        return
    image = to_png(trend_figure(points, period))
    chart = Attachment(image, f"stats-{last.isoformat()}-{days}d.png", AttachmentKind.PHOTO)
    await ctx.answer(texts.CHART_CAPTION.format(days=days), attachment=chart)


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
    """/report [YYYY-MM]: a month's summary (last month by default); staff also receive the workbook."""
    grid_id = _scope(ctx.person)
    now = ctx.clock.now()
    month = _month(args.strip(), now.date())
    if month is None:
        await ctx.answer(texts.BAD_MONTH)
        return
    if grid_id is None:
        await _staff_report(ctx, month, now)
        return
    first, last = month_bounds(month)
    result = await build_report(
        ctx.uow, first, last, now, grid_id=grid_id, crossed=False, categories=ctx.categories
    )
    if result.total.is_empty():
        await ctx.answer(texts.NO_DATA)
        return
    grid = await ctx.uow.community.grid(grid_id)
    await ctx.answer(texts.report_summary(result, grid.name if grid else ""))
    await ctx.answer(texts.REPORT_FILE_HINT.format(month=month))


async def _staff_report(ctx: Context, month: str, now: datetime) -> None:
    """Staff: the month's summary, then the workbook itself as a file (the one the desk and CLI write)."""
    book = io.BytesIO()
    result = await write_monthly_workbook(ctx.uow, month, now, book, categories=ctx.categories)
    if result.total.is_empty():
        await ctx.answer(texts.NO_DATA)
        return
    await ctx.answer(texts.report_summary(result, ""))
    data = book.getvalue()
    if len(data) > MAX_ATTACHMENT_BYTES:  # a month far bigger than a community's: the desk streams it
        await ctx.answer(texts.REPORT_TOO_BIG.format(month=month))
        return
    workbook = Attachment(data, f"月报_{month}.xlsx")
    await ctx.answer(texts.REPORT_FILE_CAPTION.format(title=result.title), attachment=workbook)
