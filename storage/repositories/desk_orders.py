"""The desk's reads of work orders: the filtered list (keyset pages), search, and one order's whole story.

Every query takes the viewer's `Scope` and applies it in SQL. Pages go newest first by (created_at, id):
`before` is the last id of the previous page, so a page costs the same on the first or the thousandth screen.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, false, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.desk.queries import OrderFilter, OrderLine, OrderPage, OrderView, Scope, TimelineEntry
from handlers.workorders.model import OrderState
from storage.models import (
    BuildingRow,
    CompoundRow,
    GridRow,
    OrderEventRow,
    PersonRow,
    ResidentRow,
    WorkOrderRow,
)
from storage.repositories.workorders import _late, in_literals

_OPEN = [s.value for s in OrderState if s.is_open]
_NUMBER = re.compile(r"GD\d{8}-\d{1,6}", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d\s-]{5,18}\d")
_SUMMARY = 40
# A two-character word in more than this share of the orders is found by walking the newest orders; in fewer,
# through the bigram index (`_bigram_search`), which then reads at most that many orders.
COMMON_WORD_SHARE = 0.01
_ASSIGNEE = aliased(PersonRow)
_Query = Any  # a Select of the order row and its names (its generic parameters vary by SQLAlchemy version)


def _scoped(scope: Scope) -> ColumnElement[bool] | None:
    if scope.everything:
        return None
    allowed: list[ColumnElement[bool]] = [WorkOrderRow.assignee_id == scope.person_id]
    if scope.grid_ids:
        allowed.append(WorkOrderRow.grid_id.in_(sorted(scope.grid_ids)))
    return or_(*allowed)


def search_orders(query: _Query, text: str, named: list[int], bigrams: bool) -> _Query:
    """`named`: the ids of residents called `text` (read first: as literal ids, PostgreSQL can combine the
    resident index with the text's trigram index instead of filtering every order). `bigrams`: a rare
    two-character word, also asked of the text's bigram index (`_bigram_search`)."""
    text = text.strip()
    if not text:
        return query
    if _NUMBER.fullmatch(text):
        return query.where(WorkOrderRow.number == text.upper())
    if _PHONE.fullmatch(text):
        phone = re.sub(r"[\s+-]", "", text)
        phone = phone[2:] if phone.startswith("86") and len(phone) == 13 else phone
        return query.where(
            WorkOrderRow.resident_id.in_(select(ResidentRow.id).where(ResidentRow.phone == phone))
        )
    # The pattern written into the SQL, not bound: a prepared statement's generic plan would not know how
    # long it is, and may pick the trigram index for a two-character word (which then reads every order).
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    words: ColumnElement[bool] = WorkOrderRow.text.like(
        literal(f"%{escaped}%", literal_execute=True), escape="/"
    )
    if bigrams:  # for two characters the same question as the LIKE, which stays first (it is cheaper)
        words = and_(words, _has_bigram(text))
    return query.where(or_(WorkOrderRow.resident_id.in_(named), words) if named else words)


def _has_bigram(word: str) -> ColumnElement[bool]:
    bigrams = func.gridbot_bigrams(WorkOrderRow.text, type_=ARRAY(Text))  # PostgreSQL, migration 0020
    return bigrams.contains(array([literal(word, Text, literal_execute=True)]))


def _filtered(
    query: _Query, scope: Scope, f: OrderFilter, now: datetime, named: list[int], bigrams: bool
) -> _Query:
    scoped = _scoped(scope)
    if scoped is not None:
        query = query.where(scoped)
    states = [s for s in f.states if s]
    if states:
        wanted = {s for s in states if s in {o.value for o in OrderState}}
        if "open" in states:
            wanted.update(_OPEN)
        # as literals: the open ones then match ix_work_orders_open_created's predicate in every plan
        query = (
            query.where(in_literals(WorkOrderRow.state, tuple(sorted(wanted))))
            if wanted
            else query.where(false())
        )
    if f.category:
        query = query.where(WorkOrderRow.category == f.category)
    if f.compound_id is not None:
        query = query.where(WorkOrderRow.compound_id == f.compound_id)
    if f.grid_id is not None:
        query = query.where(WorkOrderRow.grid_id == f.grid_id)
    if f.assignee_id is not None:
        query = query.where(WorkOrderRow.assignee_id == f.assignee_id)
    if f.created_from is not None:
        query = query.where(WorkOrderRow.created_at >= f.created_from)
    if f.created_before is not None:
        query = query.where(WorkOrderRow.created_at < f.created_before)
    if f.overdue:
        query = query.where(_late(now))
    if f.supervised:
        query = query.where(WorkOrderRow.supervised.is_(True))
    if f.green_channel:
        query = query.where(WorkOrderRow.green_channel != "")
    return search_orders(query, f.search, named, bigrams)


async def resident_ids_named(session: AsyncSession, search: str) -> list[int]:
    """The residents a search names (for `search_orders`); none for an order number or a phone."""
    text = search.strip()
    if not text or _NUMBER.fullmatch(text) or _PHONE.fullmatch(text):
        return []
    query = select(ResidentRow.id).where(ResidentRow.name == text).limit(100)
    return [int(i) for i in await session.scalars(query)]


def _is_late(row: WorkOrderRow, now: datetime) -> bool:
    if row.state in (OrderState.NEW.value, OrderState.ASSIGNED.value):
        return row.accept_due_at is not None and row.accept_due_at < now
    if row.state == OrderState.ACCEPTED.value:
        return row.resolve_due_at is not None and row.resolve_due_at < now
    return False


def _place(row: WorkOrderRow, compound: str | None) -> str:
    parts = [compound or ""]
    if row.building_number:
        parts.append(f"{row.building_number}号楼")
    if row.unit:
        parts.append(f"{row.unit}单元")
    return "".join(parts) or "未填写位置"


def _line(
    row: WorkOrderRow, compound: str | None, grid: str | None, assignee: str | None, now: datetime
) -> OrderLine:
    summary = row.text if len(row.text) <= _SUMMARY else row.text[:_SUMMARY] + "…"
    return OrderLine(
        id=row.id,
        number=row.number,
        created_at=row.created_at,
        category=row.category,
        priority=row.priority,
        state=row.state,
        place=_place(row, compound),
        grid_name=grid or "",
        assignee_name=assignee or "",
        supervised=row.supervised,
        green_channel=bool(row.green_channel),
        overdue=_is_late(row, now),
        summary=summary,
    )


def _with_names(query: _Query) -> _Query:
    return (
        query.outerjoin(CompoundRow, CompoundRow.id == WorkOrderRow.compound_id)
        .outerjoin(GridRow, GridRow.id == WorkOrderRow.grid_id)
        .outerjoin(_ASSIGNEE, _ASSIGNEE.id == WorkOrderRow.assignee_id)
    )


class SqlDeskOrderQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page(
        self, scope: Scope, f: OrderFilter, now: datetime, before: int | None = None, limit: int = 30
    ) -> OrderPage:
        query = select(WorkOrderRow, CompoundRow.name, GridRow.name, _ASSIGNEE.name)
        bigrams = await self._bigram_search(f.search)
        query = _filtered(_with_names(query), scope, f, now, await self._named(f.search), bigrams)
        # Newest first by (created_at, id): the created_at index serves every filter, and a date range
        # starts where it should (ids follow time too closely for the planner to guess their spread).
        if before is not None:
            anchor = await self._session.scalar(
                select(WorkOrderRow.created_at).where(WorkOrderRow.id == before)
            )
            query = query.where(
                tuple_(WorkOrderRow.created_at, WorkOrderRow.id) < tuple_(anchor, before)
                if anchor is not None
                else WorkOrderRow.id < before
            )
        newest = (WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
        rows = list(await self._session.execute(query.order_by(*newest).limit(limit + 1)))
        lines = [_line(row, c, g, a, now) for row, c, g, a in rows[:limit]]
        return OrderPage(lines, lines[-1].id if len(rows) > limit else None)

    async def _bigram_search(self, search: str) -> bool:
        """Whether to search for a two-character word through the bigram index (PostgreSQL, migration 0020):
        trigrams cannot answer it, so a word few orders contain would read every order. Only for such a
        word: one that many orders contain is found soonest by walking the newest orders, and with the
        bigram condition in the query the planner was seen to pick plans 20-70 times slower for it (a
        parallel scan, a BitmapAnd of three indexes). How many orders contain it is the planner's own
        estimate, from the statistics of the index's expression (migration 0020 gathers them): a word
        outside their most common elements is estimated at 0.5 % of the orders at most."""
        word = search.strip()
        if len(word) != 2 or self._session.get_bind().dialect.name != "postgresql":
            return False
        # LIMIT 1 keeps the plan's cost low: a costly plan is compiled by the JIT even for EXPLAIN (~30 ms).
        probe = select(literal(1)).select_from(WorkOrderRow).where(_has_bigram(word)).limit(1)
        compiled = probe.compile(self._session.get_bind(), compile_kwargs={"literal_binds": True})
        # Sent as it is (exec_driver_sql): text() would read a ":a" in the searched word as a parameter.
        connection = await self._session.connection()
        plan = (await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
        found = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plans"][0]["Plan Rows"]
        orders = (
            await connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass('work_orders')"
            )
        ).scalar_one_or_none()
        return bool(found <= COMMON_WORD_SHARE * max(float(orders or 0), 1.0))

    async def _named(self, search: str) -> list[int]:
        return await resident_ids_named(self._session, search)

    async def view(self, scope: Scope, order_id: int, now: datetime) -> OrderView | None:
        """The order with its whole history; None when it does not exist or is outside the scope."""
        query = _with_names(select(WorkOrderRow, CompoundRow.name, GridRow.name, _ASSIGNEE.name))
        query = query.where(WorkOrderRow.id == order_id)
        scoped = _scoped(scope)
        if scoped is not None:
            query = query.where(scoped)
        found = (await self._session.execute(query)).first()
        if found is None:
            return None
        row, compound, grid, assignee = found
        resident = await self._session.get(ResidentRow, row.resident_id)
        view = OrderView(
            line=_line(row, compound, grid, assignee, now),
            text=row.text,
            resident_id=row.resident_id,
            resident_name=resident.name if resident else "",
            resident_phone=resident.phone if resident else None,
            resident_in_chat=bool(resident and resident.chat_id > -(2**53)),
            grid_id=row.grid_id,
            assignee_id=row.assignee_id,
            resolution_note=row.resolution_note,
            satisfaction=row.satisfaction,
            photos=list(row.photos or ()),
        )
        view.timeline = await self._timeline(order_id)
        return view

    async def _timeline(self, order_id: int) -> list[TimelineEntry]:
        events = list(
            await self._session.scalars(
                select(OrderEventRow).where(OrderEventRow.order_id == order_id).order_by(OrderEventRow.id)
            )
        )
        person_ids = {e.actor_id for e in events if e.actor_kind == "person" and e.actor_id is not None}
        resident_ids = {e.actor_id for e in events if e.actor_kind == "resident" and e.actor_id is not None}
        for e in events:  # "person:12" in assigned/transferred notes names the new assignee
            if e.note.startswith("person:") and e.note[7:].isdigit():
                person_ids.add(int(e.note[7:]))
        people = await self._names(PersonRow, person_ids)
        residents = await self._names(ResidentRow, resident_ids)
        entries = []
        for e in events:
            if e.actor_kind == "person":
                actor = people.get(e.actor_id or 0, "工作人员")
            elif e.actor_kind == "resident":
                actor = "居民 " + residents.get(e.actor_id or 0, "")
            else:
                actor = "系统"
            note = e.note
            if note.startswith("person:") and note[7:].isdigit():
                note = "→ " + people.get(int(note[7:]), "")
            entries.append(TimelineEntry(e.at, e.kind, actor.strip(), note))
        return entries

    async def _names(self, table: Any, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self._session.execute(select(table.id, table.name).where(table.id.in_(sorted(ids))))
        return {int(i): str(n) for i, n in rows}

    async def buildings(self, compound_id: int | None = None) -> list[tuple[int, str, str]]:
        """(building id, compound name, number), for the 代录 form."""
        query = select(BuildingRow.id, CompoundRow.name, BuildingRow.number).join(
            CompoundRow, CompoundRow.id == BuildingRow.compound_id
        )
        if compound_id is not None:
            query = query.where(and_(BuildingRow.compound_id == compound_id))
        rows = await self._session.execute(query.order_by(CompoundRow.id, BuildingRow.id))
        return [(int(i), str(c), str(n)) for i, c, n in rows]
