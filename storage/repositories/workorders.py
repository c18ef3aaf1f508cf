"""Residents, work orders and the small tables that make handling exactly-once and conversational."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, Text, and_, bindparam, func, insert, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ports import Clock, OrderStatistics, ReportChecks
from handlers.workorders.model import (
    Actor,
    EventKind,
    OrderEvent,
    OrderState,
    WorkOrder,
    order_number,
)
from nlp.types import Category
from storage.models import OPEN_STATES as _OPEN_ORDER_INDEX_STATES
from storage.models import RATING_EVENT_KINDS as _RATING_EVENT_KINDS
from storage.models import (
    CompoundRow,
    OrderCounterRow,
    OrderEventRow,
    ResidentRow,
    WorkOrderRow,
)
from storage.repositories.order_rows import (
    EVENT_COLUMNS,
    SIMILAR_IN_BUILDING,
    SIMILAR_IN_COMPOUND,
    event_values,
    numbered_insert,
    order_from_row,
    order_values,
)
from storage.repositories.order_rows import report_checks as report_checks_statement
from storage.upsert import INSERTS

_OPEN_STATES = [s.value for s in OrderState if s.is_open]
# A report reads the open orders of at most this many people with its other checks (a grid's members, a
# category's handlers: a handful); more are asked on their own.
_LOADS_ASKED_AT_MOST = 8


def in_literals(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the values written into the SQL, not bound: PostgreSQL then matches the
    predicate of a partial index (storage.models) in every plan, generic prepared-statement plans too."""
    return column.in_([literal(value, literal_execute=True) for value in values])


def _late(now: datetime) -> ColumnElement[bool]:
    """Open orders past the due time of their current stage."""
    return or_(
        and_(
            WorkOrderRow.state.in_([OrderState.NEW.value, OrderState.ASSIGNED.value]),
            WorkOrderRow.accept_due_at < now,
        ),
        and_(WorkOrderRow.state == OrderState.ACCEPTED.value, WorkOrderRow.resolve_due_at < now),
    )


# Outer joins: the name and the chat may be NULL (no compound named; a resident erased).
_OrderQuery = Select[WorkOrderRow, str, int]


_EVENTS = cast(Table, OrderEventRow.__table__)


def _select_orders() -> _OrderQuery:
    """Orders with their compound's name and their resident's chat id: one joined query for any number."""
    return (
        select(WorkOrderRow, CompoundRow.name, ResidentRow.chat_id)
        .outerjoin(CompoundRow, CompoundRow.id == WorkOrderRow.compound_id)
        .outerjoin(ResidentRow, ResidentRow.id == WorkOrderRow.resident_id)
    )


# Statements every report runs, built once (per dialect where the SQL differs): building one cost more CPU
# than running it.


def _next_number(insert: Any) -> Any:
    table = OrderCounterRow.__table__
    return (
        insert(table)
        .values(day=bindparam("p_day"), value=1)
        .on_conflict_do_update(index_elements=["day"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )


_NEXT_NUMBER = {name: _next_number(insert) for name, insert in INSERTS.items()}
# On the tables, not the mapped classes: a statement naming a mapped class runs through the ORM's
# execution (~30 µs more CPU each), and plain rows load without the ORM's bookkeeping (issue 16).
_ORDERS = cast(Table, WorkOrderRow.__table__)
# ix_work_orders_resident_created answers it from the index alone.
_OPENED_BY = (
    select(func.count())
    .select_from(_ORDERS)
    .where(_ORDERS.c.resident_id == bindparam("p_resident"), _ORDERS.c.created_at >= bindparam("p_since"))
)
# A new order: every column from the domain object (parameters named as the columns); its events.
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_EVENTS = insert(_EVENTS)


_OPEN_COUNT_BY_ASSIGNEE = (
    select(_ORDERS.c.assignee_id, func.count())
    .where(
        _ORDERS.c.assignee_id.in_(bindparam("p_people", expanding=True)),
        _ORDERS.c.state.in_(_OPEN_STATES),
    )
    .group_by(_ORDERS.c.assignee_id)
)


class SqlWorkOrderRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def next_number(self, day: str) -> int:
        # One atomic statement: concurrent processes never get the same number.
        stmt = _NEXT_NUMBER[self._session.get_bind().dialect.name]
        value = (await self._session.execute(stmt, {"p_day": day})).scalar_one()
        return int(value)

    def _load(self, row: WorkOrderRow, compound_name: str | None, resident_chat_id: int | None) -> WorkOrder:
        order = order_from_row(row, compound_name)
        # The database keeps UTC; the core reads and shows times in the community's zone (the clock's).
        zone = self._clock.now().tzinfo
        order.created_at = order.created_at.astimezone(zone)
        order.accept_due_at = order.accept_due_at.astimezone(zone) if order.accept_due_at else None
        order.resolve_due_at = order.resolve_due_at.astimezone(zone) if order.resolve_due_at else None
        order.next_timer_at = order.next_timer_at.astimezone(zone) if order.next_timer_at else None
        order.resident_chat_id = resident_chat_id or 0
        return order

    async def _orders(self, query: _OrderQuery, params: dict[str, Any] | None = None) -> list[WorkOrder]:
        """Run `query` (from `_select_orders`): each order with its compound's name and resident's chat."""
        result = await self._session.execute(query, params)
        return [self._load(row, compound, chat) for row, compound, chat in result]

    async def add_numbered(self, order: WorkOrder, day: str) -> WorkOrder:
        if self._session.get_bind().dialect.name != "postgresql":
            # SQLite: one writer at a time (BEGIN IMMEDIATE) already, so nothing waits on the counter.
            order.number = order_number(day, await self.next_number(day))
            return await self.add(order)
        values = {
            "resident_id": order.resident_id,
            "created_at": order.created_at,
            **order_values(order, self._clock.now()),
        }
        events = event_values(order)
        happened = {f"e_{name}": [event[name] for event in events] for name in EVENT_COLUMNS}
        statement = numbered_insert(tuple(values))
        written = await self._session.execute(statement, {"p_day": day, **values, **happened})
        order_id, order.number = written.one()
        order.id = int(order_id)
        order.new_events.clear()
        return order

    async def add(self, order: WorkOrder) -> WorkOrder:
        # One INSERT on the table: the ORM's add and flush cost more CPU than the statement (issue 16).
        values = {
            "number": order.number,
            "resident_id": order.resident_id,
            "created_at": order.created_at,
            **order_values(order, self._clock.now()),
        }
        order.id = int((await self._session.execute(_INSERT_ORDER, values)).scalar_one())
        await self._write_events(order)
        return order

    def _fill(self, row: WorkOrderRow, order: WorkOrder) -> None:
        for key, value in order_values(order, self._clock.now()).items():
            setattr(row, key, value)

    async def _write_events(self, order: WorkOrder) -> None:
        assert order.id is not None
        events = [{"order_id": order.id, **event} for event in event_values(order)]
        order.new_events.clear()
        if events:  # one executemany, without reading ids back (nothing needs them)
            await self._session.execute(_INSERT_EVENTS, events)

    async def get(self, order_id: int) -> WorkOrder | None:
        found = await self._orders(_select_orders().where(WorkOrderRow.id == order_id))
        return found[0] if found else None

    async def save(self, order: WorkOrder) -> None:
        assert order.id is not None
        row = await self._session.get(WorkOrderRow, order.id)
        assert row is not None
        self._fill(row, order)
        await self._session.flush()  # the order's row goes first
        await self._write_events(order)

    async def history(self, order_id: int) -> list[OrderEvent]:
        rows = await self._session.scalars(
            select(OrderEventRow).where(OrderEventRow.order_id == order_id).order_by(OrderEventRow.id)
        )
        return [_event(row) for row in rows]

    async def for_resident(self, resident_id: int, limit: int = 10) -> list[WorkOrder]:
        return await self._orders(
            _select_orders()
            .where(WorkOrderRow.resident_id == resident_id)
            .order_by(WorkOrderRow.id.desc())
            .limit(limit)
        )

    async def opened_by(self, resident_id: int, since: datetime) -> int:
        count = await self._session.scalar(_OPENED_BY, {"p_resident": resident_id, "p_since": since})
        return int(count or 0)

    async def open_orders(
        self, limit: int = 50, after: int = 0, assignee_id: int | None = None
    ) -> list[WorkOrder]:
        query = (
            _select_orders()  # the partial index ix_work_orders_open_id, in id order (keyset pages)
            .where(in_literals(WorkOrderRow.state, _OPEN_ORDER_INDEX_STATES), WorkOrderRow.id > after)
            .order_by(WorkOrderRow.id)
            .limit(limit)
        )
        if assignee_id is not None:  # ix_work_orders_state_assignee
            query = query.where(WorkOrderRow.assignee_id == assignee_id)
        return await self._orders(query)

    async def by_number(self, number: str) -> WorkOrder | None:
        found = await self._orders(_select_orders().where(WorkOrderRow.number == number))
        return found[0] if found else None

    async def followed_by(self, resident_id: int, limit: int = 10) -> list[WorkOrder]:
        # Few open orders have followers; the JSON list is matched as text, then checked exactly.
        orders = await self._orders(
            _select_orders()
            .where(
                in_literals(WorkOrderRow.state, _OPEN_ORDER_INDEX_STATES),
                sql_cast(WorkOrderRow.followers, Text).contains(str(resident_id), autoescape=True),
            )
            .order_by(WorkOrderRow.id.desc())
        )
        return [order for order in orders if resident_id in order.followers][:limit]

    async def last_assignee_in_grid(self, grid_id: int) -> int | None:
        value = await self._session.scalar(
            select(WorkOrderRow.assignee_id)
            .where(WorkOrderRow.grid_id == grid_id, WorkOrderRow.assignee_id.is_not(None))
            .order_by(WorkOrderRow.id.desc())
            .limit(1)
        )
        return int(value) if value is not None else None

    async def similar_open(
        self, category: Category, building_id: int | None, compound_id: int | None, since: datetime
    ) -> list[WorkOrder]:
        if building_id is None and compound_id is None:
            return []
        params = {"p_category": category.value, "p_since": since}
        if building_id is not None:
            query, params = SIMILAR_IN_BUILDING, params | {"p_building": building_id}
        else:  # a public space of the compound: no building named
            query, params = SIMILAR_IN_COMPOUND, params | {"p_compound": compound_id}
        rows = await self._session.execute(query, params)
        return [self._load(cast(WorkOrderRow, row), row.compound_name, row.resident_chat) for row in rows]

    async def report_checks(
        self,
        resident_id: int,
        hour: datetime,
        category: Category,
        building_id: int | None,
        compound_id: int | None,
        since: datetime,
        assignees: Collection[int] = (),
    ) -> ReportChecks:
        people = list(dict.fromkeys(assignees))
        placed = building_id is not None or compound_id is not None
        if not placed or len(people) > _LOADS_ASKED_AT_MOST:  # (no place: no "me too"; many: rare)
            similar = await self.similar_open(category, building_id, compound_id, since) if placed else []
            opened = await self.opened_by(resident_id, hour)
            loads = await self.open_count_by_assignee(people) if people else {}
            return ReportChecks(opened, similar, {person: loads.get(person, 0) for person in people})
        params: dict[str, Any] = {
            "p_resident": resident_id,
            "p_hour": hour,
            "p_category": category.value,
            "p_since": since,
            **{f"p_a{i}": person for i, person in enumerate(people)},
        }
        if building_id is not None:
            params["p_building"] = building_id
        else:
            params["p_compound"] = compound_id
        query = report_checks_statement(building_id is not None, len(people))
        rows = (await self._session.execute(query, params)).all()
        first = rows[0]._mapping if rows else {}
        similar = [
            self._load(cast(WorkOrderRow, row), row.compound_name, row.resident_chat)
            for row in rows
            if row.id is not None
        ]
        loads = {person: int(first.get(f"load_{i}") or 0) for i, person in enumerate(people)}
        return ReportChecks(int(first.get("opened") or 0), similar, loads)

    async def claim_due(self, now: datetime, limit: int = 50) -> list[WorkOrder]:
        query = (
            _select_orders()
            .where(WorkOrderRow.next_timer_at <= now)
            .order_by(WorkOrderRow.next_timer_at)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            # another replica's tick skips what this one holds: no order is reminded or escalated twice
            query = query.with_for_update(of=WorkOrderRow, skip_locked=True)
        return await self._orders(query)

    async def overdue(self, now: datetime, limit: int = 50) -> list[WorkOrder]:
        return await self._orders(
            _select_orders()  # ix_work_orders_open_due: the open ones in deadline order, not the history
            .where(in_literals(WorkOrderRow.state, _OPEN_ORDER_INDEX_STATES), _late(now))
            .order_by(WorkOrderRow.accept_due_at)
            .limit(limit)
        )

    async def statistics(self, since: datetime, now: datetime) -> OrderStatistics:
        """Aggregates in SQL, each over an index (state; created_at + category; rating events by time), so
        they stay fast on years of history (benchmarks/bench_load.py)."""
        session = self._session
        opened_rows = await session.execute(
            select(WorkOrderRow.category, func.count())
            .where(WorkOrderRow.created_at >= since)
            .group_by(WorkOrderRow.category)
        )
        by_category = {str(c): int(n) for c, n in opened_rows}
        state_rows = await session.execute(
            select(WorkOrderRow.state, func.count())
            .where(WorkOrderRow.state.in_(_OPEN_STATES))
            .group_by(WorkOrderRow.state)
        )
        late = await session.scalar(select(func.count()).select_from(WorkOrderRow).where(_late(now)))
        event_rows = await session.execute(
            select(OrderEventRow.kind, OrderEventRow.note, func.count())
            # the partial index ix_order_events_ratings answers this alone
            .where(OrderEventRow.at >= since, in_literals(OrderEventRow.kind, _RATING_EVENT_KINDS))
            .group_by(OrderEventRow.kind, OrderEventRow.note)
        )
        satisfaction: dict[str, int] = {}
        reopened = 0
        for kind, note, n in event_rows:
            if kind == "rated":
                satisfaction[str(note)] = satisfaction.get(str(note), 0) + int(n)
            else:
                reopened += int(n)
        return OrderStatistics(
            opened=sum(by_category.values()),
            by_category=by_category,
            open_by_state={str(st): int(n) for st, n in state_rows},
            overdue=int(late or 0),
            satisfaction=satisfaction,
            reopened=reopened,
        )

    async def open_count_by_assignee(self, person_ids: list[int]) -> dict[int, int]:
        if not person_ids:
            return {}
        rows = await self._session.execute(_OPEN_COUNT_BY_ASSIGNEE, {"p_people": person_ids})
        return {int(pid): int(n) for pid, n in rows if pid is not None}


def _event(row: OrderEventRow) -> OrderEvent:
    return OrderEvent(
        at=row.at, kind=EventKind(row.kind), actor=Actor(row.actor_kind, row.actor_id), note=row.note
    )
