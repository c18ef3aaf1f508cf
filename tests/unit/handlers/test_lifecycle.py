"""The work-order lifecycle: every allowed move works, every other move is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from handlers.errors import TransitionNotAllowed
from handlers.workorders.model import Actor, EventKind, OrderLocation, OrderState, Satisfaction, WorkOrder
from nlp.types import Category, Priority

AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
WHO = Actor("person", 7)


def order_in(state: OrderState) -> WorkOrder:
    return WorkOrder(
        id=1,
        number="GD20261129-0001",
        resident_id=1,
        resident_chat_id=9001,
        text="楼道灯坏了",
        category=Category.REPAIR,
        priority=Priority.NORMAL,
        location=OrderLocation(),
        created_at=AT,
        state=state,
        assignee_id=None if state is OrderState.NEW else 7,
    )


ACTIONS: dict[str, Callable[[WorkOrder], None]] = {
    "assign": lambda o: o.assign(8, WHO, AT),
    "accept": lambda o: o.accept(WHO, AT),
    "transfer": lambda o: o.transfer(8, WHO, AT),
    "return": lambda o: o.return_to_dispatch(WHO, AT),
    "resolve": lambda o: o.resolve("已修好", WHO, AT),
    "rate_ok": lambda o: o.rate(Satisfaction.SATISFIED, WHO, AT),
    "rate_bad": lambda o: o.rate(Satisfaction.UNSATISFIED, WHO, AT),
    "cancel": lambda o: o.cancel(WHO, AT),
}

ALLOWED: dict[tuple[OrderState, str], OrderState] = {
    (OrderState.NEW, "assign"): OrderState.ASSIGNED,
    (OrderState.NEW, "cancel"): OrderState.CANCELLED,
    (OrderState.ASSIGNED, "accept"): OrderState.ACCEPTED,
    (OrderState.ASSIGNED, "transfer"): OrderState.ASSIGNED,
    (OrderState.ASSIGNED, "return"): OrderState.NEW,
    (OrderState.ASSIGNED, "cancel"): OrderState.CANCELLED,
    (OrderState.ACCEPTED, "resolve"): OrderState.RESOLVED,
    (OrderState.ACCEPTED, "transfer"): OrderState.ASSIGNED,
    (OrderState.ACCEPTED, "return"): OrderState.NEW,
    (OrderState.ACCEPTED, "cancel"): OrderState.CANCELLED,
    (OrderState.RESOLVED, "rate_ok"): OrderState.CLOSED,
    (OrderState.RESOLVED, "rate_bad"): OrderState.ASSIGNED,
}


@pytest.mark.parametrize(("state", "action"), sorted(ALLOWED, key=str))
def test_allowed_moves_reach_their_state_and_leave_an_event(state: OrderState, action: str) -> None:
    order = order_in(state)
    ACTIONS[action](order)
    assert order.state is ALLOWED[(state, action)]
    assert order.new_events, "every change is an event in the history"


ILLEGAL = [(s, a) for s in OrderState for a in ACTIONS if (s, a) not in ALLOWED]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_moves_are_refused_and_change_nothing(state: OrderState, action: str) -> None:
    order = order_in(state)
    before = (order.state, order.assignee_id, order.satisfaction, order.resolution_note)
    with pytest.raises(TransitionNotAllowed):
        ACTIONS[action](order)
    assert (order.state, order.assignee_id, order.satisfaction, order.resolution_note) == before
    assert order.new_events == []


def test_transfer_to_the_same_assignee_is_refused() -> None:
    order = order_in(OrderState.ASSIGNED)
    with pytest.raises(TransitionNotAllowed):
        order.transfer(7, WHO, AT)


def test_unsatisfied_rating_reopens_to_the_same_assignee() -> None:
    order = order_in(OrderState.RESOLVED)
    order.rate(Satisfaction.UNSATISFIED, WHO, AT)
    assert order.assignee_id == 7
    assert [e.kind for e in order.new_events] == [EventKind.RATED, EventKind.REOPENED]
