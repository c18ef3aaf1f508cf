"""The files staff take away: the monthly workbook for the 街道 and filtered orders as CSV or xlsx.

Callers (the CLI, the desk) choose where the bytes go; an export streams orders from storage row by row, so
a year of orders is never held in memory.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import IO

from handlers.ports import UnitOfWork
from handlers.statistics.assessment import Weights
from handlers.statistics.periods import month_bounds
from handlers.statistics.ports import OrderFilter, statistics_of
from handlers.statistics.report import Report, build_report
from handlers.statistics.rollup import day_bounds
from handlers.statistics.sheets import ORDER_HEADER, monthly_sheets, order_cells
from handlers.statistics.writers import CsvWriter, XlsxWriter, write_workbook
from nlp.categories import Catalog

ORDER_WIDTHS = (18, 17, 12, 10, 8, 12, 6, 12, 10, 17, 17, 17, 17, 17, 17, 8, 6, 40, 30)


async def monthly_report(
    uow: UnitOfWork, month: str, now: datetime, weights: Weights | None = None, *, categories: Catalog
) -> Report:
    first, last = month_bounds(month)
    return await build_report(uow, first, last, now, weights, categories=categories)


async def write_monthly_workbook(
    uow: UnitOfWork,
    month: str,
    now: datetime,
    target: Path | IO[bytes],
    weights: Weights | None = None,
    *,
    categories: Catalog,
) -> Report:
    """Build the month's report and write its workbook (summary, breakdowns, 考核, overdue, 不满意), the
    categories by the community's names."""
    report = await monthly_report(uow, month, now, weights, categories=categories)
    zone = now.tzinfo
    assert zone is not None
    write_workbook(monthly_sheets(report), target, zone)
    return report


async def export_orders_csv(
    uow: UnitOfWork, selection: OrderFilter, stream: IO[str], zone: tzinfo, *, categories: Catalog
) -> int:
    """Write the filtered orders as CSV (open `stream` with encoding="utf-8-sig", newline=""); returns the count."""
    writer = CsvWriter(stream, ORDER_HEADER, zone)
    count = 0
    async for line in statistics_of(uow).export(selection):
        writer.row(order_cells(line, categories.label))
        count += 1
    return count


async def export_orders_xlsx(
    uow: UnitOfWork, selection: OrderFilter, target: Path | IO[bytes], zone: tzinfo, *, categories: Catalog
) -> int:
    """Write the filtered orders as one xlsx sheet (constant memory when `target` is a path)."""
    writer = XlsxWriter(target, zone)
    writer.sheet("工单", ORDER_HEADER, ORDER_WIDTHS)
    count = 0
    async for line in statistics_of(uow).export(selection):
        writer.row(order_cells(line, categories.label))
        count += 1
    writer.close()
    return count


def day_range(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start of first, end of last) as aware datetimes in the community's zone."""
    return day_bounds(first, zone)[0], day_bounds(last, zone)[1]
