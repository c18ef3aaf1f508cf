"""The report's order lists (late, still overdue, rated 不满意) and the order export, with names resolved.

No resident's name or phone is selected: lists and exports leave the building as files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.statistics.ports import OrderFilter, OrderLine
from storage.models import CompoundRow, GridRow, OrderEventRow, PersonRow, WorkOrderRow
from storage.models.statistics import StatsLateOrderRow
from storage.repositories.desk_orders import resident_ids_named, search_orders
from storage.repositories.workorders import _late

_LIST_LIMIT = 5000  # a report's list is read by people: beyond this it is a filter's job (the export)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _base() -> Any:
    o = WorkOrderRow
    return (
        select(
            o.id,
            o.number,
            o.created_at,
            o.state,
            o.category,
            o.priority,
            CompoundRow.name,
            o.building_number,
            GridRow.name,
            o.grid_id,
            PersonRow.name,
            o.text,
            o.resolution_note,
            o.satisfaction,
            o.supervised,
            o.accept_due_at,
            o.resolve_due_at,
        )
        .select_from(o)
        .outerjoin(CompoundRow, CompoundRow.id == o.compound_id)
        .outerjoin(GridRow, GridRow.id == o.grid_id)
        .outerjoin(PersonRow, PersonRow.id == o.assignee_id)
    )


def _line(row: Any, **extra: Any) -> OrderLine:
    return OrderLine(
        id=row[0],
        number=row[1],
        created_at=_aware(row[2]) or row[2],
        state=row[3],
        category=row[4],
        priority=row[5],
        compound=row[6] or "",
        building=row[7] or "",
        grid=row[8] or "",
        grid_id=row[9],
        assignee=row[10] or "",
        text=row[11] or "",
        resolution_note=row[12] or "",
        satisfaction=row[13] or "",
        supervised=bool(row[14]),
        accept_due_at=_aware(row[15]),
        resolve_due_at=_aware(row[16]),
        **extra,
    )


async def late_lines(session: AsyncSession, first: date, last: date) -> list[OrderLine]:
    late = StatsLateOrderRow
    rows = await session.execute(
        _base()
        .add_columns(late.stage, late.due_at, late.done_at)
        .join(late, late.order_id == WorkOrderRow.id)
        .where(late.day >= first, late.day <= last)
        .order_by(late.day, late.id)
        .limit(_LIST_LIMIT)
    )
    return [_line(r, stage=r[17], due_at=_aware(r[18]), done_at=_aware(r[19])) for r in rows]


async def open_overdue_lines(session: AsyncSession, now: datetime) -> list[OrderLine]:
    o = WorkOrderRow
    waiting = and_(o.state.in_(["new", "assigned"]), o.accept_due_at < now)
    working = and_(o.state == "accepted", o.resolve_due_at < now)
    rows = await session.execute(
        _base().where(or_(waiting, working)).order_by(o.accept_due_at, o.id).limit(_LIST_LIMIT)
    )
    lines = []
    for r in rows:
        accepting = r[3] in ("new", "assigned")
        due = _aware(r[15] if accepting else r[16])
        lines.append(_line(r, stage="accept" if accepting else "resolve", due_at=due))
    return lines


async def unsatisfied_lines(session: AsyncSession, start: datetime, end: datetime) -> list[OrderLine]:
    rating = aliased(OrderEventRow)
    later = aliased(OrderEventRow)
    earlier = aliased(OrderEventRow)
    comment = (
        select(later.note)
        .where(later.order_id == rating.order_id, later.kind == "resident_replied", later.id > rating.id)
        .order_by(later.id)
        .limit(1)
        .scalar_subquery()
    )
    resolution = (
        select(earlier.note)
        .where(earlier.order_id == rating.order_id, earlier.kind == "resolved", earlier.id < rating.id)
        .order_by(earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(
        _base()
        .add_columns(rating.at, comment, resolution)
        .join(rating, rating.order_id == WorkOrderRow.id)
        # the partial index ix_order_events_ratings (at, kind, note) finds these
        .where(rating.kind == "rated", rating.note == "unsatisfied", rating.at >= start, rating.at < end)
        .order_by(rating.at, rating.id)
        .limit(_LIST_LIMIT)
    )
    # the note of the resolution this rating judged (a later one replaces the order's own after a reopening)
    return [
        replace(_line(r, done_at=_aware(r[17]), comment=r[18] or ""), resolution_note=r[19] or r[12] or "")
        for r in rows
    ]


_PAGE = 2000  # orders per page of an export (keyset pages: no long-open cursor, event lookups by order id)


async def _event_times(session: AsyncSession, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """order id -> (first accepted, last resolved, last closed, last cancelled), one grouped query per page."""
    e = OrderEventRow

    def when(kind: str, first: bool) -> Any:
        moment = case((e.kind == kind, e.at), else_=None)
        return func.min(moment) if first else func.max(moment)

    rows = await session.execute(
        select(
            e.order_id,
            when("accepted", True),
            when("resolved", False),
            when("closed", False),
            when("cancelled", False),
        )
        .where(e.order_id.in_(ids), e.kind.in_(["accepted", "resolved", "closed", "cancelled"]))
        .group_by(e.order_id)
    )
    return {row[0]: tuple(_aware(t) for t in row[1:]) for row in rows}


async def export_lines(session: AsyncSession, selection: OrderFilter) -> AsyncIterator[OrderLine]:
    o = WorkOrderRow
    query = _base().where(o.created_at >= selection.start, o.created_at < selection.end)
    if selection.category is not None:
        query = query.where(o.category == selection.category)
    if selection.compound_id is not None:
        query = query.where(o.compound_id == selection.compound_id)
    if selection.grid_id is not None:
        query = query.where(o.grid_id == selection.grid_id)
    if selection.assignee_id is not None:
        query = query.where(o.assignee_id == selection.assignee_id)
    if selection.states:
        query = query.where(o.state.in_(list(selection.states)))
    if selection.late_at is not None:
        query = query.where(_late(selection.late_at))
    if selection.supervised:
        query = query.where(o.supervised.is_(True))
    if selection.green_channel:
        query = query.where(o.green_channel != "")
    if selection.search.strip():
        # The list's own search, so the file holds the orders it shows (no bigram index: a file is a scan).
        named = await resident_ids_named(session, selection.search)
        query = search_orders(query, selection.search, named, bigrams=False)
    after: tuple[datetime, int] | None = None
    while True:
        page_query = query
        if after is not None:
            page_query = page_query.where(
                or_(o.created_at > after[0], and_(o.created_at == after[0], o.id > after[1]))
            )
        page = list(await session.execute(page_query.order_by(o.created_at, o.id).limit(_PAGE)))
        if not page:
            return
        times = await _event_times(session, [r[0] for r in page])
        for r in page:
            accepted, resolved, closed, cancelled = times.get(r[0], (None, None, None, None))
            yield _line(
                r, accepted_at=accepted, resolved_at=resolved, closed_at=closed, cancelled_at=cancelled
            )
        after = (page[-1][2], page[-1][0])
