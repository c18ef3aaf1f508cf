"""In-memory implementations of the core's ports: real behaviour, no database."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handlers.community import CommunitySpec
from handlers.domain import Building, Compound, Grid, OrderEvent, Person, Resident, Role, WorkOrder
from handlers.messages import Reply
from handlers.ports import Conversation
from nlp.types import Category, Classification, Location, Priority


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class KeywordClassifier:
    """A tiny stand-in for the rule classifier: enough to drive the use cases deterministically."""

    RULES: tuple[tuple[str, Category], ...] = (
        ("着火", Category.EMERGENCY),
        ("晕倒", Category.EMERGENCY),
        ("骗", Category.FRAUD),
        ("工资", Category.WAGE_ARREARS),
        ("灯", Category.REPAIR),
        ("漏水", Category.REPAIR),
        ("垃圾", Category.SANITATION),
        ("停车", Category.PARKING),
    )

    def __init__(self, compounds: dict[str, list[str]]) -> None:
        self.compounds = compounds

    def classify(self, text: str) -> Classification:
        category = next((c for word, c in self.RULES if word in text), Category.UNKNOWN)
        compound = None
        for name, aliases in self.compounds.items():
            if any(label in text for label in [name, *aliases]):
                compound = name
        building = None
        for n in range(20, 0, -1):
            if f"{n}号楼" in text:
                building = str(n)
                break
        priority = Priority.URGENT if category is Category.EMERGENCY else Priority.NORMAL
        return Classification(category, priority, Location(compound=compound, building=building), (), 0.9)


class FakeStore:
    """The state behind every fake unit of work (the "database")."""

    def __init__(self) -> None:
        self.last_id = 0
        self.compounds: dict[int, Compound] = {}
        self.buildings: dict[int, Building] = {}
        self.building_grid: dict[int, int] = {}
        self.grids: dict[int, Grid] = {}
        self.people: dict[int, Person] = {}
        self.routes: dict[Category, Role] = {}
        self.residents: dict[int, Resident] = {}
        self.orders: dict[int, WorkOrder] = {}
        self.events: dict[int, list[OrderEvent]] = {}
        self.counters: dict[str, int] = {}
        self.links: dict[tuple[int, int], int] = {}
        self.conversations: dict[int, Conversation] = {}
        self.inbound: set[str] = set()
        self.outbox: list[Reply] = []

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def snapshot(self) -> FakeStore:
        return copy.deepcopy(self)


class FakeCommunity:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def person_by_chat(self, chat_id: int) -> Person | None:
        return next((p for p in self.s.people.values() if p.chat_id == chat_id), None)

    async def person(self, person_id: int) -> Person | None:
        return self.s.people.get(person_id)

    async def people(self, role: Role | None = None, grid_id: int | None = None) -> list[Person]:
        return [
            p
            for p in sorted(self.s.people.values(), key=lambda p: p.id)
            if (role is None or role in p.roles) and (grid_id is None or p.grid_id == grid_id)
        ]

    async def compounds(self) -> list[Compound]:
        return list(self.s.compounds.values())

    async def compound(self, compound_id: int) -> Compound | None:
        return self.s.compounds.get(compound_id)

    async def compound_by_name(self, name: str) -> Compound | None:
        return next((c for c in self.s.compounds.values() if name == c.name or name in c.aliases), None)

    async def buildings(self, compound_id: int) -> list[Building]:
        return [b for b in self.s.buildings.values() if b.compound_id == compound_id]

    async def building(self, building_id: int) -> Building | None:
        return self.s.buildings.get(building_id)

    async def find_building(self, compound_id: int, number: str) -> Building | None:
        return next(
            (b for b in self.s.buildings.values() if b.compound_id == compound_id and b.number == number),
            None,
        )

    async def grid(self, grid_id: int) -> Grid | None:
        return self.s.grids.get(grid_id)

    async def grid_for_building(self, building_id: int) -> Grid | None:
        grid_id = self.s.building_grid.get(building_id)
        return self.s.grids.get(grid_id) if grid_id is not None else None

    async def grids(self) -> list[Grid]:
        return list(self.s.grids.values())

    async def category_role(self, category: Category) -> Role | None:
        return self.s.routes.get(category)

    async def apply(self, spec: CommunitySpec, now: datetime | None = None) -> None:
        s = self.s
        by_name: dict[str, Compound] = {}
        for c in spec.compounds:
            compound = Compound(s.new_id(), c.name, c.aliases)
            s.compounds[compound.id] = by_name[c.name] = compound
            for b in c.buildings:
                building = Building(s.new_id(), compound.id, compound.name, b.number, b.units)
                s.buildings[building.id] = building
        grid_ids: dict[str, int] = {}
        for g in spec.grids:
            grid_ids[g.name] = s.new_id()
        person_ids: dict[str, int] = {}
        for p in spec.people:
            person = Person(s.new_id(), p.name, p.chat_id, p.roles, grid_ids.get(p.grid) if p.grid else None)
            s.people[person.id] = person
            person_ids[p.name] = person.id
        for g in spec.grids:
            leader = person_ids.get(g.leader) if g.leader else None
            s.grids[grid_ids[g.name]] = Grid(grid_ids[g.name], g.name, leader, g.group_chat_id)
            for compound_name, number in g.buildings:
                building = await self.find_building(by_name[compound_name].id, number)
                assert building is not None
                s.building_grid[building.id] = grid_ids[g.name]
        s.routes = dict(spec.routing)
        for r in spec.residents:
            building_id = None
            if r.compound and r.building:
                found = await self.find_building(by_name[r.compound].id, r.building)
                building_id = found.id if found else None
            rid = s.new_id()
            consented = (now or datetime.now(UTC)) if r.consented else None
            s.residents[rid] = Resident(rid, r.chat_id, r.name, consented, building_id, r.unit, r.room)


class FakeResidents:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def by_chat(self, chat_id: int) -> Resident | None:
        found = next((r for r in self.s.residents.values() if r.chat_id == chat_id), None)
        return replace(found) if found else None

    async def get(self, resident_id: int) -> Resident | None:
        found = self.s.residents.get(resident_id)
        return replace(found) if found else None

    async def save(self, resident: Resident) -> Resident:
        if resident.id is None:
            resident.id = self.s.new_id()
        self.s.residents[resident.id] = replace(resident)
        return resident


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

    async def open_orders(self, limit: int = 50) -> list[WorkOrder]:
        return [copy.deepcopy(o) for o in self.s.orders.values() if o.is_open][:limit]

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


class FakeUnitOfWork:
    """Works on a copy of the store; commit publishes it, anything else is thrown away (a rollback)."""

    def __init__(self, shared: FakeStore) -> None:
        self._shared = shared
        self.committed = False

    def _open(self) -> None:
        self._work = self._shared.snapshot()
        self.community = FakeCommunity(self._work)
        self.residents = FakeResidents(self._work)
        self.orders = FakeOrders(self._work)
        self.links = FakeLinks(self._work)
        self.conversations = FakeConversations(self._work)
        self.inbound = FakeInbound(self._work)
        self.outbox = FakeOutbox(self._work)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def commit(self) -> None:
        self._shared.__dict__.update(self._work.snapshot().__dict__)
        self.committed = True

    async def rollback(self) -> None:
        self._open()


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)
