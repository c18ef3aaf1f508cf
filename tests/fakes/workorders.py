"""In-memory work orders and the small tables around them (links, conversations, inbound, outbox)."""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import datetime

from handlers.messages import Reply
from handlers.ports import Conversation, OrderStatistics
from handlers.workorders.model import OrderEvent, ReportChecks, WorkOrder, order_number
from nlp.types import Category
from tests.fakes.store import FakeStore


class FakeOrders:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def next_number(self, day: str) -> int:
        self.s.counters[day] = self.s.counters.get(day, 0) + 1
        return self.s.counters[day]

    async def add(self, order: WorkOrder) -> WorkOrder:
        order.id = self.s.new_id()
        await self.save(order)
        return order

    async def add_numbered(self, order: WorkOrder, day: str) -> WorkOrder:
        order.number = order_number(day, await self.next_number(day))
        return await self.add(order)

    async def get(self, order_id: int) -> WorkOrder | None:
        found = self.s.orders.get(order_id)
        return copy.deepcopy(found) if found else None

    async def save(self, order: WorkOrder) -> None:
        assert order.id is not None
        self.s.events.setdefault(order.id, []).extend(order.new_events)
        order.new_events.clear()
        self.s.orders[order.id] = copy.deepcopy(order)

    async def for_resident(self, resident_id: int, limit: int = 10) -> list[WorkOrder]:
        found = [o for o in self.s.orders.values() if o.resident_id == resident_id]
        return [copy.deepcopy(o) for o in sorted(found, key=lambda o: -(o.id or 0))[:limit]]

    async def opened_by(self, resident_id: int, since: datetime) -> int:
        return sum(
            1 for o in self.s.orders.values() if o.resident_id == resident_id and o.created_at >= since
        )

    async def open_orders(
        self, limit: int = 50, after: int = 0, assignee_id: int | None = None
    ) -> list[WorkOrder]:
        found = [
            o
            for o in sorted(self.s.orders.values(), key=lambda o: o.id or 0)
            if o.is_open and (o.id or 0) > after and (assignee_id is None or o.assignee_id == assignee_id)
        ]
        return [copy.deepcopy(o) for o in found[:limit]]

    async def by_number(self, number: str) -> WorkOrder | None:
        found = next((o for o in self.s.orders.values() if o.number == number), None)
        return copy.deepcopy(found) if found else None

    async def history(self, order_id: int) -> list[OrderEvent]:
        return list(self.s.events.get(order_id, []))

    async def followed_by(self, resident_id: int, limit: int = 10) -> list[WorkOrder]:
        found = [o for o in self.s.orders.values() if o.is_open and resident_id in o.followers]
        return [copy.deepcopy(o) for o in sorted(found, key=lambda o: -(o.id or 0))[:limit]]

    async def last_assignee_in_grid(self, grid_id: int) -> int | None:
        found = [o for o in self.s.orders.values() if o.grid_id == grid_id and o.assignee_id is not None]
        return max(found, key=lambda o: o.id or 0).assignee_id if found else None

    async def similar_open(
        self, category: Category, building_id: int | None, compound_id: int | None, since: datetime
    ) -> list[WorkOrder]:
        found = [
            o
            for o in self.s.orders.values()
            if o.is_open
            and o.category is category
            and o.created_at >= since
            and (
                (building_id is not None and o.location.building_id == building_id)
                or (building_id is None and compound_id is not None and o.location.compound_id == compound_id)
            )
        ]
        return [copy.deepcopy(o) for o in sorted(found, key=lambda o: o.id or 0)]

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
        placed = building_id is not None or compound_id is not None
        similar = await self.similar_open(category, building_id, compound_id, since) if placed else []
        loads = await self.open_count_by_assignee(list(assignees))
        opened = await self.opened_by(resident_id, hour)
        return ReportChecks(opened, similar, {person: loads.get(person, 0) for person in assignees})

    async def claim_due(self, now: datetime, limit: int = 50) -> list[WorkOrder]:
        due = [o for o in self.s.orders.values() if o.next_timer_at is not None and o.next_timer_at <= now]
        return [copy.deepcopy(o) for o in sorted(due, key=lambda o: o.next_timer_at or now)[:limit]]

    async def overdue(self, now: datetime, limit: int = 50) -> list[WorkOrder]:
        late = []
        for o in self.s.orders.values():
            due = o.resolve_due_at if o.state.value == "accepted" else o.accept_due_at
            if o.is_open and o.state.value != "resolved" and due is not None and due < now:
                late.append(o)
        return [copy.deepcopy(o) for o in late][:limit]

    async def statistics(self, since: datetime, now: datetime) -> OrderStatistics:
        opened = [o for o in self.s.orders.values() if o.created_at >= since]
        by_category: dict[str, int] = {}
        for o in opened:
            by_category[o.category.value] = by_category.get(o.category.value, 0) + 1
        open_by_state: dict[str, int] = {}
        for o in self.s.orders.values():
            if o.is_open:
                open_by_state[o.state.value] = open_by_state.get(o.state.value, 0) + 1
        satisfaction: dict[str, int] = {}
        reopened = 0
        for events in self.s.events.values():
            for e in events:
                if e.at >= since and e.kind.value == "rated":
                    satisfaction[e.note] = satisfaction.get(e.note, 0) + 1
                reopened += e.at >= since and e.kind.value == "reopened"
        return OrderStatistics(
            len(opened),
            by_category,
            open_by_state,
            len(await self.overdue(now, 10**6)),
            satisfaction,
            reopened,
        )

    async def open_count_by_assignee(self, person_ids: list[int]) -> dict[int, int]:
        counts: dict[int, int] = {}
        for o in self.s.orders.values():
            if o.is_open and o.assignee_id in person_ids:
                assert o.assignee_id is not None
                counts[o.assignee_id] = counts.get(o.assignee_id, 0) + 1
        return counts


class FakeLinks:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, chat_id: int, message_id: int, order_id: int) -> None:
        self.s.links.setdefault((chat_id, message_id), order_id)

    async def order_for(self, chat_id: int, message_id: int) -> int | None:
        return self.s.links.get((chat_id, message_id))

    async def latest_message(self, chat_id: int, order_id: int) -> int | None:
        ids = [m for (c, m), o in self.s.links.items() if c == chat_id and o == order_id]
        return max(ids) if ids else None


class FakeConversations:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, chat_id: int) -> Conversation | None:
        found = self.s.conversations.get(chat_id)
        return copy.deepcopy(found) if found else None

    async def set(self, chat_id: int, conversation: Conversation) -> None:
        self.s.conversations[chat_id] = copy.deepcopy(conversation)

    async def clear(self, chat_id: int) -> None:
        self.s.conversations.pop(chat_id, None)


class FakeInbound:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def first_time(self, key: str) -> bool:
        if key in self.s.inbound:
            return False
        self.s.inbound.add(key)
        return True


class FakeOutbox:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def put(self, reply: Reply) -> None:
        self.s.outbox.append(reply)


class FakeFollowups:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, order_id: int, closed_at: datetime) -> None:
        self.s.followups.setdefault(order_id, {"closed_at": closed_at, "done_at": None})

    async def pending(self, after: int = 0, limit: int = 10) -> list[int]:
        ids = sorted(i for i, row in self.s.followups.items() if row["done_at"] is None and i > after)
        return ids[:limit]

    async def pending_count(self) -> int:
        return sum(1 for row in self.s.followups.values() if row["done_at"] is None)

    async def done(self, order_id: int, at: datetime, person_id: int | None, result: str) -> bool:
        row = self.s.followups.get(order_id)
        if row is None or row["done_at"] is not None:
            return False
        row.update(done_at=at, done_by=person_id, result=result)
        return True
