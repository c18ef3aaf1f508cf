"""A work order and its row, both ways: what the repository reads and writes (storage/repositories/workorders.py),
and the statements a report runs to find the "me too" candidates."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    Table,
    Text,
    bindparam,
    case,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql

from handlers.workorders.model import OrderLocation, OrderState, Satisfaction, WorkOrder
from nlp.types import Category, Priority
from storage.models import CompoundRow, OrderCounterRow, OrderEventRow, ResidentRow, UTCDateTime, WorkOrderRow

_ORDERS = cast(Table, WorkOrderRow.__table__)
_COUNTERS = cast(Table, OrderCounterRow.__table__)
_EVENTS = cast(Table, OrderEventRow.__table__)
_COMPOUNDS = cast(Table, CompoundRow.__table__)
_RESIDENTS = cast(Table, ResidentRow.__table__)
_OPEN_STATES = [s.value for s in OrderState if s.is_open]


def order_from_row(row: WorkOrderRow, compound_name: str | None) -> WorkOrder:
    """An order from its row (mapped, or a plain row with the same column names)."""
    return WorkOrder(
        id=row.id,
        number=row.number,
        resident_id=row.resident_id,
        resident_chat_id=0,  # filled by the repository, which knows the resident
        text=row.text,
        category=Category(row.category),
        priority=Priority(row.priority),
        location=OrderLocation(
            compound_id=row.compound_id,
            compound_name=compound_name,
            building_id=row.building_id,
            building_number=row.building_number,
            unit=row.unit,
            room=row.room,
        ),
        created_at=row.created_at,
        state=OrderState(row.state),
        grid_id=row.grid_id,
        assignee_id=row.assignee_id,
        satisfaction=Satisfaction(row.satisfaction) if row.satisfaction else None,
        keywords=tuple(row.keywords or ()),
        confidence=row.confidence,
        category_chosen_by_resident=row.category_chosen_by_resident,
        resolution_note=row.resolution_note,
        photos=list(row.photos or ()),
        accept_due_at=row.accept_due_at,
        resolve_due_at=row.resolve_due_at,
        escalation_level=row.escalation_level,
        reminded=row.reminded,
        next_timer_at=row.next_timer_at,
        supervised=row.supervised,
        emergency_check=row.emergency_check,
        green_channel=row.green_channel,
        followers=list(row.followers or ()),
    )


def order_values(order: WorkOrder, now: datetime) -> dict[str, Any]:
    """The columns a new or changed order writes (all but number, resident and creation time)."""
    loc = order.location
    return {
        "text": order.text,
        "category": order.category.value,
        "priority": order.priority.value,
        "state": order.state.value,
        "compound_id": loc.compound_id,
        "building_id": loc.building_id,
        "building_number": loc.building_number,
        "unit": loc.unit,
        "room": loc.room,
        "grid_id": order.grid_id,
        "assignee_id": order.assignee_id,
        "satisfaction": order.satisfaction.value if order.satisfaction else None,
        "keywords": list(order.keywords),
        "confidence": order.confidence,
        "category_chosen_by_resident": order.category_chosen_by_resident,
        "resolution_note": order.resolution_note,
        "photos": list(order.photos),
        "accept_due_at": order.accept_due_at,
        "resolve_due_at": order.resolve_due_at,
        "escalation_level": order.escalation_level,
        "reminded": order.reminded,
        "next_timer_at": order.next_timer_at,
        "supervised": order.supervised,
        "emergency_check": order.emergency_check,
        "green_channel": order.green_channel,
        "followers": list(order.followers),
        "updated_at": now,
    }


EVENT_COLUMNS = ("at", "kind", "actor_kind", "actor_id", "note")


def event_values(order: WorkOrder) -> list[dict[str, Any]]:
    """The rows of the order's new events (order_id aside), in the order they happened."""
    return [
        {
            "at": event.at,
            "kind": event.kind.value,
            "actor_kind": event.actor.kind,
            "actor_id": event.actor.id,
            "note": event.note,
        }
        for event in order.new_events
    ]


@cache
def numbered_insert(columns: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: the day's counter (p_day) taken, the order written and its events (arrays e_at, e_kind,
    e_actor_kind, e_actor_id, e_note) in one statement, answering the order's id and number; the order's
    parameters are named as the `columns` (all but the number).

    Every report takes the day's counter row, and its lock is held until the commit: taken first (as it
    was, before routing), two replicas' reports waited on each other for most of a report (3.5 ms a report
    on the counter alone under bench-load); the events in the same statement keep one round trip more out
    of that window. The number is `handlers.workorders.model.order_number`'s, in SQL
    (tests/integration/delivery/test_order_numbers.py checks they agree).
    """
    taken = (
        postgresql.insert(_COUNTERS)
        .values(day=bindparam("p_day", type_=Text), value=1)
        .on_conflict_do_update(index_elements=["day"], set_={"value": _COUNTERS.c.value + 1})
        .returning(_COUNTERS.c.value)
        .cte("taken")
    )
    sequence = sql_cast(taken.c.value, Text)
    number = func.concat(
        literal_column("'GD'"),
        bindparam("p_day", type_=Text),
        literal_column("'-'"),
        case((taken.c.value < 10000, func.lpad(sequence, 4, literal_column("'0'"))), else_=sequence),
    )
    values = select(number, *(bindparam(name, type_=_ORDERS.c[name].type) for name in columns))
    placed = (
        postgresql.insert(_ORDERS)
        .from_select(["number", *columns], values.select_from(taken))
        .returning(_ORDERS.c.id, _ORDERS.c.number)
        .cte("placed")
    )
    happened = (
        func.unnest(
            bindparam("e_at", type_=ARRAY(UTCDateTime())),
            bindparam("e_kind", type_=ARRAY(Text)),
            bindparam("e_actor_kind", type_=ARRAY(Text)),
            bindparam("e_actor_id", type_=ARRAY(BigInteger)),
            bindparam("e_note", type_=ARRAY(Text)),
        )
        .table_valued(*EVENT_COLUMNS, with_ordinality="n")
        .render_derived("happened")
    )
    rows = select(
        placed.c.id, *(happened.c[name] for name in ("at", "kind", "actor_kind", "actor_id", "note"))
    )
    logged = (
        postgresql.insert(_EVENTS)
        .from_select(
            ["order_id", *EVENT_COLUMNS],
            rows.select_from(placed).join(happened, true()).order_by(happened.c.n),
        )
        .cte("logged")
    )
    # A data-modifying CTE runs whether or not the answer reads it.
    return select(placed.c.id, placed.c.number).add_cte(logged)


def _similar_open(*where: ColumnElement[bool]) -> Select[Any]:
    """Plain rows: each order's columns, its compound's name and its resident's chat (`_from_rows`)."""
    return (
        select(
            *_ORDERS.c, _COMPOUNDS.c.name.label("compound_name"), _RESIDENTS.c.chat_id.label("resident_chat")
        )
        .outerjoin(_COMPOUNDS, _COMPOUNDS.c.id == _ORDERS.c.compound_id)
        .outerjoin(_RESIDENTS, _RESIDENTS.c.id == _ORDERS.c.resident_id)
        .where(
            _ORDERS.c.state.in_(_OPEN_STATES),
            _ORDERS.c.category == bindparam("p_category"),
            _ORDERS.c.created_at >= bindparam("p_since"),
            *where,
        )
        .order_by(_ORDERS.c.id)
        .limit(5)
    )


SIMILAR_IN_BUILDING = _similar_open(_ORDERS.c.building_id == bindparam("p_building"))
SIMILAR_IN_COMPOUND = _similar_open(
    _ORDERS.c.compound_id == bindparam("p_compound"), _ORDERS.c.building_id.is_(None)
)


@cache
def report_checks(in_building: bool, assignees: int) -> Select[Any]:
    """A report's questions in one statement (issue 16: round trips fewer a report): how many orders the
    resident opened since :p_hour (the flood limit), the "me too" candidates, and the open orders of each of
    :p_a0 ... (least-loaded routing; columns load_0 ...). The counts are one row joined to the candidates, so
    they come back when there are none (one row, the order's columns NULL). One shape per place kind and
    number of people (a grid's members: a handful)."""
    held = _ORDERS.alias("held")  # not correlated with the resident's count below
    loads = [
        select(func.count())
        .select_from(held)
        .where(held.c.assignee_id == bindparam(f"p_a{i}", type_=BigInteger), held.c.state.in_(_OPEN_STATES))
        .scalar_subquery()
        .label(f"load_{i}")
        for i in range(assignees)
    ]
    counts = (
        select(func.count().label("opened"), *loads)
        .select_from(_ORDERS)
        .where(_ORDERS.c.resident_id == bindparam("p_resident"), _ORDERS.c.created_at >= bindparam("p_hour"))
        .subquery("counts")
    )
    candidates = (SIMILAR_IN_BUILDING if in_building else SIMILAR_IN_COMPOUND).subquery("candidates")
    return (
        select(*counts.c, *candidates.c)
        .select_from(counts.outerjoin(candidates, true()))
        .order_by(candidates.c.id)
    )
