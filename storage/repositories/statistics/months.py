"""Monthly roll-ups: a month's day rows summed once it has ended, so a long period reads month rows for its
whole months and day rows only for the days around them (a year: ~12 + ~30 rows per key instead of ~365).

A month's rows are read only while its state says `built`; recomputing any of its days clears that, and the
roll-up tick rebuilds it (handlers/statistics/rollup.py). So a reader never sees a stale month.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta
from typing import Any
from typing import cast as typed

from sqlalchemy import BigInteger, Table, and_, cast, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.statistics.histogram import from_json, merge_into, to_json
from handlers.statistics.metrics import COUNT_FIELDS, Counters
from handlers.statistics.ports import DayRow
from storage.models.statistics import StatsDayRow, StatsMonthRow, StatsMonthState
from storage.upsert import insert_for

_DAYS = typed(Table, StatsDayRow.__table__)
_MONTHS = typed(Table, StatsMonthRow.__table__)
Sums = dict[tuple[str, str], Counters]


def month_end(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)


def whole_months(first: date, last: date) -> list[date]:
    """The months that lie wholly within first..last (their first days)."""
    month = first if first.day == 1 else month_end(first) + timedelta(days=1)
    months = []
    while month_end(month) <= last:
        months.append(month)
        month = month_end(month) + timedelta(days=1)
    return months


def uncovered(first: date, last: date, months: list[date]) -> list[tuple[date, date]]:
    """The spans of first..last (inclusive) that the (sorted) whole months leave to the day rows."""
    spans: list[tuple[date, date]] = []
    start = first
    for month in months:
        if start < month:
            spans.append((start, month - timedelta(days=1)))
        start = month_end(month) + timedelta(days=1)
    if start <= last:
        spans.append((start, last))
    return spans


async def totals(
    session: AsyncSession, first: date, last: date, dimensions: Collection[str], durations: Collection[str]
) -> list[DayRow]:
    """Each (dimension, key) summed over first..last: built whole months from their rows, the rest by day."""
    months = await built_months(session, first, last)
    found: Sums = {}
    spans = [and_(_DAYS.c.day >= a, _DAYS.c.day <= b) for a, b in uncovered(first, last, months)]
    if spans:
        await _sum_into(session, found, _DAYS, or_(*spans), dimensions, durations)
    if months:
        await _sum_into(session, found, _MONTHS, _MONTHS.c.month.in_(months), dimensions, durations)
    return [DayRow(first, dimension, key, counters) for (dimension, key), counters in found.items()]


async def _sum_into(
    session: AsyncSession,
    found: Sums,
    table: Table,
    where: Any,
    dimensions: Collection[str],
    durations: Collection[str],
) -> None:
    t = table.c
    sums = await session.execute(
        select(t.dimension, t.key, *(cast(func.sum(t[n]), BigInteger) for n in COUNT_FIELDS))
        .where(where, t.dimension.in_(list(dimensions)))
        .group_by(t.dimension, t.key)
    )
    for row in sums:
        _add(found, row[0], row[1], Counters.of_row(row[2:]))  # ints: the sums are cast to BIGINT
    wanted = [d for d in durations if d in dimensions]
    if wanted:
        histograms = await session.execute(
            select(t.dimension, t.key, t.accept_minutes, t.resolve_minutes).where(
                where, t.dimension.in_(wanted)
            )
        )
        for dimension, key, accept, resolve in histograms:
            counters = found[(dimension, key)]
            merge_into(counters.accept_minutes, from_json(accept))
            merge_into(counters.resolve_minutes, from_json(resolve))


def _add(found: Sums, dimension: str, key: str, part: Counters) -> None:
    if (dimension, key) in found:
        found[(dimension, key)].add(part)
    else:
        found[(dimension, key)] = part


async def built_months(session: AsyncSession, first: date, last: date) -> list[date]:
    whole = whole_months(first, last)
    if not whole:
        return []
    state = StatsMonthState
    return sorted(await session.scalars(select(state.month).where(state.month.in_(whole), state.built)))


async def claim_unbuilt(session: AsyncSession, before: date, *, postgres: bool) -> date | None:
    """The latest month before `before` whose rows are not current (locked for this transaction)."""
    state = StatsMonthState
    query = (
        select(state.month)
        .where(state.built.is_(False), state.month < before)
        .order_by(state.month.desc())
        .limit(1)
    )
    if postgres:  # another replica's tick builds another month
        query = query.with_for_update(skip_locked=True)
    return typed(date | None, await session.scalar(query))


async def build(session: AsyncSession, month: date, day_rows: Iterable[DayRow]) -> int:
    """Replace the month's rows with the sum of its day rows (histograms merged); mark it built."""
    summed: Sums = {}
    for row in day_rows:
        _add(summed, row.dimension, row.key, row.counters)
    await session.execute(delete(StatsMonthRow).where(StatsMonthRow.month == month))
    if summed:
        values = [
            {"month": month, "dimension": dimension, "key": key, **counter_values(counters)}
            for (dimension, key), counters in summed.items()
        ]
        await session.execute(insert(_MONTHS), values)
    await set_built(session, month, True)
    return len(summed)


def counter_values(c: Counters) -> dict[str, Any]:
    """A row's counters and histograms as column values (day rows and month rows alike)."""
    values: dict[str, Any] = {name: getattr(c, name) for name in COUNT_FIELDS}
    values["accept_minutes"] = to_json(c.accept_minutes)
    values["resolve_minutes"] = to_json(c.resolve_minutes)
    return values


async def set_built(session: AsyncSession, month: date, built: bool) -> None:
    stmt = insert_for(session, StatsMonthState.__table__).values(month=month, built=built)
    await session.execute(stmt.on_conflict_do_update(index_elements=["month"], set_={"built": built}))
