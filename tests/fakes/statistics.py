"""An in-memory statistics repository with no roll-ups yet: the day rows a fresh community has (none).

Enough for the chat commands on fakes (/stats shows the live figures, /report says there is no data); the
metrics themselves are tested on SQLite and PostgreSQL (tests/integration/test_statistics.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable
from datetime import date, datetime

from handlers.statistics.ports import (
    CheckinCount,
    DayRow,
    DeliveryCount,
    Lateness,
    OrderFilter,
    OrderLine,
    OrderRecord,
)


class FakeStatistics:
    def __init__(self) -> None:
        self._mark: datetime | None = None
        self._dirty: set[date] = set()

    async def touched_since(self, since: datetime) -> list[datetime]:
        return []

    async def first_order_at(self) -> datetime | None:
        return None

    async def mark(self) -> datetime | None:
        return self._mark

    async def set_mark(self, at: datetime) -> None:
        self._mark = at

    async def mark_dirty(self, days: Iterable[date]) -> None:
        self._dirty.update(days)

    async def claim_dirty(self, limit: int = 1) -> list[date]:
        return []

    async def dirty_count(self) -> int:
        return len(self._dirty)

    async def orders_touching(self, start: datetime, end: datetime) -> list[OrderRecord]:
        return []

    async def checkins(self, day: date) -> list[CheckinCount]:
        return []

    async def deliveries(self, start: datetime, end: datetime) -> DeliveryCount:
        return DeliveryCount()

    async def replace_day(self, day: date, rows: Collection[DayRow], late: Collection[Lateness]) -> None:
        return None

    async def rows(
        self,
        first: date,
        last: date,
        dimensions: Collection[str],
        *,
        histograms: bool = True,
        keys: Collection[str] | None = None,
    ) -> list[DayRow]:
        return []

    async def claim_unbuilt_month(self, before: date) -> date | None:
        return None  # no month rows: totals sum the day rows

    async def build_month(self, month: date) -> int:
        return 0

    async def totals(
        self, first: date, last: date, dimensions: Collection[str], durations: Collection[str]
    ) -> list[DayRow]:
        return []

    async def late_orders(self, first: date, last: date) -> list[OrderLine]:
        return []

    async def open_overdue(self, now: datetime) -> list[OrderLine]:
        return []

    async def dissatisfied(self, start: datetime, end: datetime) -> list[OrderLine]:
        return []

    async def export(self, selection: OrderFilter) -> AsyncIterator[OrderLine]:
        for line in ():
            yield line
