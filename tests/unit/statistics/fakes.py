"""An in-memory statistics repository with the behaviour of storage's (previous orders, dirty days, rows)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from handlers.community.model import Compound, Grid, Person, Role
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
from handlers.workorders.model import OrderEvent, WorkOrder


def record_of(order: WorkOrder, history: list[OrderEvent]) -> OrderRecord:
    assert order.id is not None
    return OrderRecord(
        id=order.id,
        created_at=order.created_at,
        category=order.category.value,
        compound_id=order.location.compound_id,
        grid_id=order.grid_id,
        assignee_id=order.assignee_id,
        accept_due_at=order.accept_due_at,
        resolve_due_at=order.resolve_due_at,
        events=tuple(EventRecord(e.at, e.kind.value, e.actor.kind, e.actor.id, e.note) for e in history),
    )


@dataclass
class FakeStatistics:
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    residents: dict[int, int] = field(default_factory=dict)  # order id -> resident id
    checkin_counts: dict[date, list[CheckinCount]] = field(default_factory=dict)
    fired: list[tuple[datetime, DeliveryCount]] = field(default_factory=list)
    stored: dict[tuple[date, str, str], DayRow] = field(default_factory=dict)
    late: list[Lateness] = field(default_factory=list)
    dirty: set[date] = field(default_factory=set)
    last_mark: datetime | None = None
    recomputed: list[date] = field(default_factory=list)

    def put(self, order: WorkOrder, history: list[OrderEvent]) -> None:
        assert order.id is not None
        self.orders[order.id] = record_of(order, history)
        self.residents[order.id] = order.resident_id

    def _times(self, o: OrderRecord) -> list[datetime]:
        return [o.created_at, *(e.at for e in o.events)]

    async def touched_since(self, since: datetime) -> list[datetime]:
        return [
            t for o in self.orders.values() if any(t >= since for t in self._times(o)) for t in self._times(o)
        ]

    async def first_order_at(self) -> datetime | None:
        return min((o.created_at for o in self.orders.values()), default=None)

    async def mark(self) -> datetime | None:
        return self.last_mark

    async def set_mark(self, at: datetime) -> None:
        self.last_mark = at

    async def mark_dirty(self, days: Iterable[date]) -> None:
        self.dirty.update(days)

    async def claim_dirty(self, limit: int = 1) -> list[date]:
        run: list[date] = []
        for day in sorted(self.dirty, reverse=True)[:limit]:
            if run and (run[-1] - day).days != 1:
                break
            run.append(day)
        self.dirty.difference_update(run)
        self.recomputed.extend(run)
        return run

    async def dirty_count(self) -> int:
        return len(self.dirty)

    def _previous(self, o: OrderRecord, same: str) -> datetime | None:
        earlier = [
            p.created_at
            for p in self.orders.values()
            if p.id < o.id
            and p.category == o.category
            and p.created_at >= o.created_at - REPEAT_WINDOW - timedelta(days=1)
            and (
                self.residents[p.id] == self.residents[o.id]
                if same == "resident"
                else (o.compound_id is not None and p.compound_id == o.compound_id)
            )
        ]
        return max(earlier, default=None)

    async def orders_touching(self, start: datetime, end: datetime) -> list[OrderRecord]:
        found = []
        for o in self.orders.values():
            if any(start <= t < end for t in self._times(o)):
                reported = start <= o.created_at < end
                found.append(
                    replace(
                        o,
                        previous_same_resident_at=self._previous(o, "resident") if reported else None,
                        previous_same_place_at=self._previous(o, "place") if reported else None,
                    )
                )
        return found

    async def checkins(self, day: date) -> list[CheckinCount]:
        return self.checkin_counts.get(day, [])

    async def deliveries(self, start: datetime, end: datetime) -> DeliveryCount:
        total = sent = 0
        for at, count in self.fired:
            if start <= at < end:
                total, sent = total + count.deliveries, sent + count.delivered
        return DeliveryCount(total, sent)

    async def replace_day(self, day: date, rows: Collection[DayRow], late: Collection[Lateness]) -> None:
        self.stored = {k: v for k, v in self.stored.items() if k[0] != day}
        self.stored.update({(r.day, r.dimension, r.key): r for r in rows})
        self.late = [x for x in self.late if x.day != day] + list(late)

    async def rows(
        self,
        first: date,
        last: date,
        dimensions: Collection[str],
        *,
        histograms: bool = True,
        keys: Collection[str] | None = None,
    ) -> list[DayRow]:
        return [
            r
            for (d, dim, key), r in self.stored.items()
            if first <= d <= last and dim in dimensions and (keys is None or key in keys)
        ]

    async def claim_unbuilt_month(self, before: date) -> date | None:
        return None  # no month rows: totals sum the day rows

    async def build_month(self, month: date) -> int:
        return 0

    async def totals(
        self, first: date, last: date, dimensions: Collection[str], durations: Collection[str]
    ) -> list[DayRow]:
        sums: dict[tuple[str, str], Counters] = {}
        for row in await self.rows(first, last, dimensions):
            part = Counters.of({n: getattr(row.counters, n) for n in COUNT_FIELDS})
            if row.dimension in durations:
                part.accept_minutes = dict(row.counters.accept_minutes)
                part.resolve_minutes = dict(row.counters.resolve_minutes)
            sums.setdefault((row.dimension, row.key), Counters()).add(part)
        return [DayRow(first, d, k, c) for (d, k), c in sums.items()]

    async def late_orders(self, first: date, last: date) -> list[OrderLine]:
        return [
            self._line(x.order_id, stage=x.stage, due_at=x.due_at, done_at=x.done_at)
            for x in self.late
            if first <= x.day <= last
        ]

    async def open_overdue(self, now: datetime) -> list[OrderLine]:
        return []

    async def dissatisfied(self, start: datetime, end: datetime) -> list[OrderLine]:
        return [
            self._line(o.id, done_at=e.at)
            for o in self.orders.values()
            for e in o.events
            if e.kind == "rated" and e.note == "unsatisfied" and start <= e.at < end
        ]

    async def _export(self, selection: OrderFilter) -> AsyncIterator[OrderLine]:
        for o in sorted(self.orders.values(), key=lambda o: o.created_at):
            if selection.start <= o.created_at < selection.end:
                yield self._line(o.id)

    def export(self, selection: OrderFilter) -> AsyncIterator[OrderLine]:
        return self._export(selection)

    def _line(self, order_id: int, **extra: object) -> OrderLine:
        o = self.orders[order_id]
        return OrderLine(
            id=o.id,
            number=f"N{o.id}",
            created_at=o.created_at,
            state="",
            category=o.category,
            priority="normal",
            grid_id=o.grid_id,
            **extra,  # type: ignore[arg-type]
        )


@dataclass
class FakeCommunity:
    compound_list: list[Compound] = field(default_factory=list)
    grid_list: list[Grid] = field(default_factory=list)
    person_list: list[Person] = field(default_factory=list)

    async def compounds(self) -> list[Compound]:
        return self.compound_list

    async def grids(self) -> list[Grid]:
        return self.grid_list

    async def people(self, role: Role | None = None, grid_id: int | None = None) -> list[Person]:
        return [
            p
            for p in self.person_list
            if (role is None or role in p.roles) and (grid_id is None or p.grid_id == grid_id)
        ]


@dataclass
class FakeStatisticsUow:
    statistics: FakeStatistics
    community: FakeCommunity
    commits: int = 0

    async def __aenter__(self) -> FakeStatisticsUow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1

    async def rollback(self) -> None:
        return None
