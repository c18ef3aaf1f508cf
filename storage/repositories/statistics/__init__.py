"""Statistics in SQL: the orders a day touched, the day rows, the dirty days, and the report's lists.

Reads go through indexes (storage/models/statistics.py): events by time, orders by id, check-ins by day, and
the day rows by their key, so a month's report reads O(days) rows however long the history is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterable
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, case, delete, func, insert, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.statistics.histogram import from_json
from handlers.statistics.metrics import COUNT_FIELDS, REPEAT_WINDOW, Counters
from handlers.statistics.ports import (
    CheckinCount,
    DayRow,
    DeliveryCount,
    EventRecord,
    Lateness,
    OrderFilter,
    OrderLine,
    OrderRecord,
)
from handlers.statistics.rollup import DIMENSIONS
from storage.models import (
    BroadcastDeliveryRow,
    BroadcastRunRow,
    BuildingRow,
    CheckinRow,
    OrderEventRow,
    ResidentRow,
    WorkOrderRow,
)
from storage.models.statistics import (
    StatsDayRow,
    StatsDirtyDayRow,
    StatsLateOrderRow,
    StatsMarkRow,
)
from storage.repositories.statistics import months
from storage.repositories.statistics.lines import (
    export_lines,
    late_lines,
    open_overdue_lines,
    unsatisfied_lines,
)
from storage.upsert import insert_for

_MARK = "rollup"
# Core tables: executemany inserts without the ORM's bulk machinery.
_DAYS = cast(Table, StatsDayRow.__table__)
_LATE = cast(Table, StatsLateOrderRow.__table__)
_CHUNK = 2000  # ids per query (SQLite allows 32,766 bound parameters; plans stay index lookups)
# The event kinds statistics read (handlers/statistics/facts.py); replies, photos and reminders change nothing.
COUNTED_KINDS = (
    "created",
    "assigned",
    "accepted",
    "transferred",
    "returned",
    "resolved",
    "rated",
    "reopened",
    "closed",
    "cancelled",
    "supervised",
    "escalated",
)
_NOTE_KINDS = ("assigned", "transferred", "rated")  # the only notes read (a person id, a rating)


class SqlStatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _postgres(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    def _changed_since(self, since: datetime) -> Any:
        return select(OrderEventRow.order_id).where(
            OrderEventRow.at >= since, OrderEventRow.kind.in_(COUNTED_KINDS)
        )

    async def touched_since(self, since: datetime) -> list[datetime]:
        changed = self._changed_since(since).scalar_subquery()
        events = select(OrderEventRow.at).where(
            OrderEventRow.order_id.in_(changed), OrderEventRow.kind.in_(COUNTED_KINDS)
        )
        created = select(WorkOrderRow.created_at).where(WorkOrderRow.id.in_(changed))
        rows = await self._session.execute(union(events, created))
        return [_aware(at) for (at,) in rows]

    async def first_order_at(self) -> datetime | None:
        value = await self._session.scalar(select(func.min(WorkOrderRow.created_at)))
        return _aware(value) if value is not None else None

    async def mark(self) -> datetime | None:
        row = await self._session.get(StatsMarkRow, _MARK)
        return row.at if row is not None else None

    async def set_mark(self, at: datetime) -> None:
        table = StatsMarkRow.__table__
        stmt = insert_for(self._session, table).values(name=_MARK, at=at)
        await self._session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"at": at}))

    async def mark_dirty(self, days: Iterable[date]) -> None:
        values = [{"day": day} for day in days]
        if values:
            stmt = insert_for(self._session, StatsDirtyDayRow.__table__).values(values)
            await self._session.execute(stmt.on_conflict_do_nothing(index_elements=["day"]))

    async def claim_dirty(self, limit: int = 1) -> list[date]:
        query = select(StatsDirtyDayRow.day).order_by(StatsDirtyDayRow.day.desc()).limit(limit)
        if self._postgres:  # another replica's tick takes other days
            query = query.with_for_update(skip_locked=True)
        found = list(await self._session.scalars(query))
        run = found[:1]
        for day in found[1:]:  # only the consecutive run: one read of orders covers it
            if (run[-1] - day).days != 1:
                break
            run.append(day)
        if run:
            await self._session.execute(delete(StatsDirtyDayRow).where(StatsDirtyDayRow.day.in_(run)))
        return run

    async def dirty_count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(StatsDirtyDayRow)) or 0)

    async def orders_touching(self, start: datetime, end: datetime) -> list[OrderRecord]:
        # The ids first, then orders and events by primary key / order id in chunks: handed a subquery, the
        # planner misjudges its size and scans the whole history instead.
        ids = sorted(
            await self._session.scalars(
                union(
                    select(OrderEventRow.order_id).where(
                        OrderEventRow.at >= start,
                        OrderEventRow.at < end,
                        OrderEventRow.kind.in_(COUNTED_KINDS),
                    ),
                    select(WorkOrderRow.id).where(
                        WorkOrderRow.created_at >= start, WorkOrderRow.created_at < end
                    ),
                )
            )
        )
        found: list[OrderRecord] = []
        for first in range(0, len(ids), _CHUNK):
            found += await self._orders(ids[first : first + _CHUNK], start, end)
        return found

    async def _orders(self, ids: list[int], start: datetime, end: datetime) -> list[OrderRecord]:
        o = WorkOrderRow
        reported_today = and_(o.created_at >= start, o.created_at < end)
        since = start - REPEAT_WINDOW
        earlier = aliased(WorkOrderRow)
        # The latest earlier order (index scans backwards from the order's time, first match wins).
        same_resident = (
            select(earlier.created_at)
            .where(
                earlier.resident_id == o.resident_id,
                earlier.created_at < o.created_at,
                earlier.created_at >= since,
                earlier.category == o.category,
            )
            .order_by(earlier.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        same_place = (
            select(earlier.created_at)
            .where(
                earlier.compound_id == o.compound_id,
                earlier.category == o.category,
                earlier.created_at < o.created_at,
                earlier.created_at >= since,
            )
            .order_by(earlier.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        # Core-level reads (no ORM result machinery): a backfill reads millions of these rows.
        connection = await self._session.connection()
        order_rows = await connection.execute(
            select(
                o.id,
                o.created_at,
                o.category,
                o.compound_id,
                o.grid_id,
                o.assignee_id,
                o.accept_due_at,
                o.resolve_due_at,
                case((reported_today, same_resident), else_=None),
                case((and_(reported_today, o.compound_id.is_not(None)), same_place), else_=None),
            ).where(o.id.in_(ids))
        )
        e = OrderEventRow
        event_rows = await connection.execute(
            select(
                e.order_id,
                e.at,
                e.kind,
                e.actor_kind,
                e.actor_id,
                case((e.kind.in_(_NOTE_KINDS), e.note), else_=literal("")),
            )
            .where(e.order_id.in_(ids), e.kind.in_(COUNTED_KINDS))
            .order_by(e.order_id, e.id)
        )
        events: dict[int, list[EventRecord]] = defaultdict(list)
        for order_id, at, kind, actor_kind, actor_id, note in event_rows:
            events[order_id].append(EventRecord(_aware(at), kind, actor_kind, actor_id, note or ""))
        return [
            OrderRecord(
                id=row[0],
                created_at=_aware(row[1]),
                category=row[2],
                compound_id=row[3],
                grid_id=row[4],
                assignee_id=row[5],
                accept_due_at=_aware(row[6]) if row[6] is not None else None,
                resolve_due_at=_aware(row[7]) if row[7] is not None else None,
                events=tuple(events.get(row[0], ())),
                previous_same_resident_at=_aware(row[8]) if row[8] is not None else None,
                previous_same_place_at=_aware(row[9]) if row[9] is not None else None,
            )
            for row in order_rows
        ]

    async def checkins(self, day: date) -> list[CheckinCount]:
        rows = await self._session.execute(
            select(BuildingRow.grid_id, BuildingRow.compound_id, func.count(), func.count(CheckinRow.answer))
            .select_from(CheckinRow)
            .join(ResidentRow, ResidentRow.id == CheckinRow.resident_id)
            .outerjoin(BuildingRow, BuildingRow.id == ResidentRow.building_id)
            .where(CheckinRow.day == day)
            .group_by(BuildingRow.grid_id, BuildingRow.compound_id)
        )
        return [
            CheckinCount(grid, compound, int(asked), int(answered))
            for grid, compound, asked, answered in rows
        ]

    async def deliveries(self, start: datetime, end: datetime) -> DeliveryCount:
        d = BroadcastDeliveryRow
        row = (
            await self._session.execute(
                select(
                    func.count().filter(d.status != "cancelled"),
                    func.count().filter(d.status == "sent"),
                )
                .select_from(d)
                .join(BroadcastRunRow, BroadcastRunRow.id == d.run_id)
                .where(BroadcastRunRow.fire_at >= start, BroadcastRunRow.fire_at < end)
            )
        ).one()
        return DeliveryCount(int(row[0] or 0), int(row[1] or 0))

    async def replace_day(self, day: date, rows: Collection[DayRow], late: Collection[Lateness]) -> None:
        session = self._session
        await session.execute(delete(StatsDayRow).where(StatsDayRow.day == day))
        await session.execute(delete(StatsLateOrderRow).where(StatsLateOrderRow.day == day))
        if rows:
            await session.execute(insert(_DAYS), [_day_values(row) for row in rows])
        await months.set_built(session, day.replace(day=1), False)  # the month's rows no longer add up
        if late:
            await session.execute(
                insert(_LATE),
                [
                    {
                        "day": x.day,
                        "order_id": x.order_id,
                        "stage": x.stage,
                        "due_at": x.due_at,
                        "done_at": x.done_at,
                    }
                    for x in late
                ],
            )

    async def rows(
        self,
        first: date,
        last: date,
        dimensions: Collection[str],
        *,
        histograms: bool = True,
        keys: Collection[str] | None = None,
    ) -> list[DayRow]:
        t = StatsDayRow.__table__.c
        durations = (t.accept_minutes, t.resolve_minutes) if histograms else ()
        query = select(t.day, t.dimension, t.key, *(t[n] for n in COUNT_FIELDS), *durations).where(
            t.day >= first, t.day <= last, t.dimension.in_(list(dimensions))
        )
        if keys is not None:
            query = query.where(t.key.in_(list(keys)))
        result = await self._session.execute(query.order_by(t.day))
        rows = []
        counted = 3 + len(COUNT_FIELDS)
        for row in result:
            counters = Counters.of_row(row[3:counted])
            if histograms:
                counters.accept_minutes, counters.resolve_minutes = from_json(row[-2]), from_json(row[-1])
            rows.append(DayRow(row[0], row[1], row[2], counters))
        return rows

    async def totals(
        self, first: date, last: date, dimensions: Collection[str], durations: Collection[str]
    ) -> list[DayRow]:
        return await months.totals(self._session, first, last, dimensions, durations)

    async def claim_unbuilt_month(self, before: date) -> date | None:
        return await months.claim_unbuilt(self._session, before, postgres=self._postgres)

    async def build_month(self, month: date) -> int:
        rows = await self.rows(month, months.month_end(month), DIMENSIONS)
        return await months.build(self._session, month, rows)

    async def late_orders(self, first: date, last: date) -> list[OrderLine]:
        return await late_lines(self._session, first, last)

    async def open_overdue(self, now: datetime) -> list[OrderLine]:
        return await open_overdue_lines(self._session, now)

    async def dissatisfied(self, start: datetime, end: datetime) -> list[OrderLine]:
        return await unsatisfied_lines(self._session, start, end)

    def export(self, selection: OrderFilter) -> AsyncIterator[OrderLine]:
        return export_lines(self._session, selection)


def _aware(value: datetime) -> datetime:
    # Raw column reads in unions bypass the column type on SQLite: mark UTC as TZDateTime does.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _day_values(row: DayRow) -> dict[str, Any]:
    return {"day": row.day, "dimension": row.dimension, "key": row.key, **months.counter_values(row.counters)}
