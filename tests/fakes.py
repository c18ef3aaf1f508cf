"""In-memory implementations of the core's ports: real behaviour, no database."""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.broadcasts.model import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    Campaign,
    FinishedRun,
    RunCounts,
    Topic,
)
from handlers.care.model import Checkin, LedgerEntry
from handlers.community.model import Building, Compound, Grid, Person, Resident, Role
from handlers.community.settings import CommunitySettings, CommunitySpec
from handlers.messages import Reply
from handlers.ports import Conversation, OrderStatistics
from handlers.workorders.model import OrderEvent, WorkOrder
from nlp.types import Category, Classification, Location, Priority


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        # A Monday morning in the community's time zone: everybody on duty, a working day.
        self.current = start or datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

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
        self.routes: dict[Category, tuple[Role, ...]] = {}
        self.settings = CommunitySettings()
        self.ledger: dict[int, LedgerEntry] = {}
        self.checkins: dict[int, Checkin] = {}
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

    async def category_roles(self, category: Category) -> tuple[Role, ...]:
        return self.s.routes.get(category, ())

    async def settings(self) -> CommunitySettings:
        return self.s.settings

    async def set_leave(self, person_id: int, on_leave: bool) -> None:
        self.s.people[person_id] = replace(self.s.people[person_id], on_leave=on_leave)

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
            grid_id = grid_ids.get(p.grid) if p.grid else None
            person = Person(s.new_id(), p.name, p.chat_id, p.roles, grid_id, duty=p.duty)
            s.people[person.id] = person
            person_ids[p.name] = person.id
        for p in spec.people:
            if p.deputy:
                pid = person_ids[p.name]
                s.people[pid] = replace(s.people[pid], deputy_id=person_ids[p.deputy])
        s.settings = spec.settings
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


class FakeLedger:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, resident_id: int) -> LedgerEntry | None:
        found = self.s.ledger.get(resident_id)
        return copy.deepcopy(found) if found else None

    async def save(self, entry: LedgerEntry) -> None:
        self.s.ledger[entry.resident_id] = copy.deepcopy(entry)

    async def remove(self, resident_id: int) -> None:
        self.s.ledger.pop(resident_id, None)

    async def entries(self, grid_id: int | None = None) -> list[tuple[LedgerEntry, Resident]]:
        result = []
        for entry in self.s.ledger.values():
            resident = self.s.residents[entry.resident_id]
            in_grid = (
                resident.building_id is not None and self.s.building_grid.get(resident.building_id) == grid_id
            )
            if grid_id is None or in_grid:
                result.append((copy.deepcopy(entry), replace(resident)))
        return result


class FakeCheckins:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def residents_to_ask(self, day: date) -> list[Resident]:
        asked = {c.resident_id for c in self.s.checkins.values() if c.day == day}
        return [replace(r) for r in self.s.residents.values() if r.checkin and r.id not in asked]

    async def add(self, checkin: Checkin) -> Checkin | None:
        if any(
            c.resident_id == checkin.resident_id and c.day == checkin.day for c in self.s.checkins.values()
        ):
            return None
        checkin.id = self.s.new_id()
        self.s.checkins[checkin.id] = copy.deepcopy(checkin)
        return checkin

    async def get(self, checkin_id: int) -> Checkin | None:
        found = self.s.checkins.get(checkin_id)
        return copy.deepcopy(found) if found else None

    async def save(self, checkin: Checkin) -> None:
        assert checkin.id is not None
        self.s.checkins[checkin.id] = copy.deepcopy(checkin)

    async def claim_unanswered(self, asked_before: datetime, alerted_before: datetime) -> list[Checkin]:
        due = [
            c
            for c in self.s.checkins.values()
            if c.answered_at is None
            and (
                (c.alerted_at is None and c.asked_at <= asked_before)
                or (c.alerted_at is not None and c.escalated_at is None and c.alerted_at <= alerted_before)
            )
        ]
        return [copy.deepcopy(c) for c in due]


class FakeUnitOfWork:
    """Works on a copy of the store; commit publishes it, anything else is thrown away (a rollback)."""

    def __init__(self, shared: FakeStore) -> None:
        self._shared = shared
        self.committed = False
        self.serialized: list[int] = []

    def _open(self) -> None:
        self._work = self._shared.snapshot()
        self.community = FakeCommunity(self._work)
        self.residents = FakeResidents(self._work)
        self.orders = FakeOrders(self._work)
        self.links = FakeLinks(self._work)
        self.conversations = FakeConversations(self._work)
        self.inbound = FakeInbound(self._work)
        self.outbox = FakeOutbox(self._work)
        self.ledger = FakeLedger(self._work)
        self.checkins = FakeCheckins(self._work)
        self.broadcasts = FakeBroadcasts(self._work)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def serialize_chat(self, chat_id: int) -> None:
        self.serialized.append(chat_id)

    async def commit(self) -> None:
        self._shared.__dict__.update(self._work.snapshot().__dict__)
        self.committed = True

    async def rollback(self) -> None:
        self._open()


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()
        self.opened: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.opened.append(uow)
        return uow


# ----------------------------------------------------------------------------- broadcasts (issue 6)


class FakeBroadcastState:
    """Broadcasts, runs, the delivery ledger and opt-outs, kept inside the FakeStore (copied with it)."""

    def __init__(self) -> None:
        self.broadcasts: dict[int, Broadcast] = {}
        self.runs: dict[int, dict[str, Any]] = {}  # id -> {broadcast_id, fire_at, text, state}
        self.deliveries: dict[int, dict[str, Any]] = {}  # id -> {run_id, chat_id, priority, status}
        self.opt_outs: set[tuple[int, Topic]] = set()
        self.campaigns: dict[str, Campaign] = {}
        self.last_id = 0

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id


class FakeBroadcasts:
    def __init__(self, store: FakeStore) -> None:
        self.s = store
        if not hasattr(store, "broadcast_state"):
            store.broadcast_state = FakeBroadcastState()  # type: ignore[attr-defined]
        self.b: FakeBroadcastState = store.broadcast_state  # type: ignore[attr-defined]

    async def add(self, broadcast: Broadcast) -> Broadcast:
        broadcast.id = self.b.new_id()
        self.b.broadcasts[broadcast.id] = copy.deepcopy(broadcast)
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        found = self.b.broadcasts.get(broadcast_id)
        return copy.deepcopy(found) if found else None

    async def save(self, broadcast: Broadcast) -> None:
        assert broadcast.id in self.b.broadcasts
        self.b.broadcasts[broadcast.id] = copy.deepcopy(broadcast)

    async def recent(self, limit: int = 20) -> list[Broadcast]:
        return [copy.deepcopy(b) for _, b in sorted(self.b.broadcasts.items(), reverse=True)][:limit]

    async def claim_due(self, now: datetime, limit: int = 10) -> list[Broadcast]:
        due = [
            b
            for b in self.b.broadcasts.values()
            if b.status is BroadcastStatus.APPROVED and b.next_run_at is not None and b.next_run_at <= now
        ]
        due.sort(key=lambda b: (not b.emergency, b.next_run_at))
        return [copy.deepcopy(b) for b in due[:limit]]

    async def audience_chats(self, audience: Audience) -> list[int]:
        if audience.kind is AudienceKind.ROLES:
            roles = {Role(k) for k in audience.keys}
            return sorted({p.chat_id for p in self.s.people.values() if roles & p.roles})
        if audience.kind is AudienceKind.LEDGER:
            wanted_kinds = set(audience.keys)
            return sorted(
                self.s.residents[e.resident_id].chat_id
                for e in self.s.ledger.values()
                if e.active and wanted_kinds.intersection(k.value for k in e.kinds)
            )
        keys = set(audience.int_keys())

        def wanted(building_id: int | None) -> bool:
            if audience.kind is AudienceKind.ALL:
                return True
            if building_id is None:
                return False
            if audience.kind is AudienceKind.BUILDINGS:
                return building_id in keys
            if audience.kind is AudienceKind.COMPOUNDS:
                return self.s.buildings[building_id].compound_id in keys
            return self.s.building_grid.get(building_id) in keys

        return sorted(
            {r.chat_id for r in self.s.residents.values() if r.has_consented and wanted(r.building_id)}
        )

    async def opted_out(self, topic: Topic, chat_ids: Collection[int]) -> set[int]:
        return {c for c in chat_ids if (c, topic) in self.b.opt_outs}

    async def add_run(self, broadcast: Broadcast, fire_at: datetime, chat_ids: list[int]) -> int | None:
        if any(r["broadcast_id"] == broadcast.id and r["fire_at"] == fire_at for r in self.b.runs.values()):
            return None
        run_id = self.b.new_id()
        self.b.runs[run_id] = {
            "broadcast_id": broadcast.id,
            "fire_at": fire_at,
            "text": broadcast.text,
            "state": "sending",
        }
        for chat in dict.fromkeys(chat_ids):
            self.b.deliveries[self.b.new_id()] = {
                "run_id": run_id,
                "chat_id": chat,
                "priority": broadcast.priority,
                "status": "pending",
            }
        return run_id

    def _of(self, broadcast_id: int) -> list[dict[str, Any]]:
        runs = {i for i, r in self.b.runs.items() if r["broadcast_id"] == broadcast_id}
        return [d for d in self.b.deliveries.values() if d["run_id"] in runs]

    async def cancel_pending(self, broadcast_id: int) -> int:
        dropped = [d for d in self._of(broadcast_id) if d["status"] == "pending"]
        for d in dropped:
            d["status"] = "cancelled"
        return len(dropped)

    @staticmethod
    def _counts(rows: list[dict[str, Any]]) -> RunCounts:
        by: dict[str, int] = {}
        for d in rows:
            by[d["status"]] = by.get(d["status"], 0) + 1
        return RunCounts(
            total=len(rows),
            pending=by.get("pending", 0) + by.get("sending", 0),
            sent=by.get("sent", 0),
            failed=by.get("failed", 0),
            unreachable=by.get("unreachable", 0),
            cancelled=by.get("cancelled", 0),
        )

    async def counts(self, broadcast_id: int) -> RunCounts:
        return self._counts(self._of(broadcast_id))

    async def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        found = []
        for run_id, run in sorted(self.b.runs.items()):
            rows = [d for d in self.b.deliveries.values() if d["run_id"] == run_id]
            if run["state"] != "sending" or any(d["status"] in ("pending", "sending") for d in rows):
                continue
            run["state"] = "done"
            b = self.b.broadcasts[run["broadcast_id"]]
            people = {b.created_by, b.approved_by}
            chats = tuple(sorted({p.chat_id for p in self.s.people.values() if p.id in people}))
            found.append(FinishedRun(run_id, run["broadcast_id"], b.title, chats, self._counts(rows)))
        return found[:limit]

    async def topics_off(self, chat_id: int) -> set[Topic]:
        return {t for c, t in self.b.opt_outs if c == chat_id}

    async def set_topic(self, chat_id: int, topic: Topic, on: bool) -> None:
        if on:
            self.b.opt_outs.discard((chat_id, topic))
        else:
            self.b.opt_outs.add((chat_id, topic))

    async def campaign(self, key: str) -> Campaign | None:
        return self.b.campaigns.get(key)

    async def campaigns(self) -> list[Campaign]:
        return [self.b.campaigns[k] for k in sorted(self.b.campaigns)]

    async def save_campaign(self, campaign: Campaign) -> None:
        self.b.campaigns[campaign.key] = campaign
