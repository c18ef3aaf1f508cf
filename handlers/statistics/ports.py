"""What statistics need from storage: the orders a day touched, the day rows, and lists for the report.

Kept apart from handlers/ports.py: only statistics and its callers (the roll-up tick, the report, the desk)
use it. storage/repositories/statistics.py implements it; the unit of work carries it as `statistics`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple, Protocol, runtime_checkable

from handlers.statistics.metrics import Counters


class EventRecord(NamedTuple):
    """One event of an order's history (a named tuple: a roll-up reads hundreds of thousands of them)."""

    at: datetime
    kind: str  # handlers.workorders.model.EventKind values
    actor_kind: str = "system"
    actor_id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class OrderRecord:
    """An order as statistics read it: its slices, its due times and its whole history, oldest first."""

    id: int
    created_at: datetime
    category: str
    compound_id: int | None
    grid_id: int | None
    assignee_id: int | None
    accept_due_at: datetime | None
    resolve_due_at: datetime | None
    events: tuple[EventRecord, ...] = ()
    # The latest earlier order (within the repeat window) of the same resident and category, and of the
    # same compound and category; only filled for orders reported on the day being rolled up.
    previous_same_resident_at: datetime | None = None
    previous_same_place_at: datetime | None = None


@dataclass(frozen=True)
class CheckinCount:
    grid_id: int | None
    compound_id: int | None
    asked: int
    answered: int


@dataclass(frozen=True)
class DeliveryCount:
    deliveries: int = 0  # all but cancelled
    delivered: int = 0


@dataclass(frozen=True)
class DayRow:
    """One roll-up row: a day, a dimension ("all", "category", "compound", "grid", "assignee") and a key."""

    day: date
    dimension: str
    key: str
    counters: Counters


@dataclass(frozen=True)
class Lateness:
    """An order that missed a due time, on the day its late acceptance or resolution happened."""

    order_id: int
    day: date
    stage: str  # "accept" | "resolve"
    due_at: datetime
    done_at: datetime


@dataclass(frozen=True)
class OrderLine:
    """One order as staff read it in a list or an export (names resolved, no resident's personal data)."""

    id: int
    number: str
    created_at: datetime
    state: str
    category: str
    priority: str
    compound: str = ""
    building: str = ""
    grid: str = ""
    grid_id: int | None = None
    assignee: str = ""
    text: str = ""
    resolution_note: str = ""
    satisfaction: str = ""
    supervised: bool = False
    accept_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    # Lists only: why the order is on it (a late stage, the rating's time, the resident's words after it).
    stage: str = ""
    due_at: datetime | None = None
    done_at: datetime | None = None
    comment: str = ""


@dataclass(frozen=True)
class OrderFilter:
    """Which orders an export holds: reported in [start, end), narrowed by any of the slices."""

    start: datetime
    end: datetime
    category: str | None = None
    compound_id: int | None = None
    grid_id: int | None = None
    assignee_id: int | None = None
    states: tuple[str, ...] = field(default=())
    # The desk's order list's other filters, so an export holds what the list shows: its search (order
    # number, phone, resident name or words of the text), orders late at `late_at`, 督办, green channel.
    search: str = ""
    late_at: datetime | None = None
    supervised: bool = False
    green_channel: bool = False


class StatisticsRepository(Protocol):
    async def touched_since(self, since: datetime) -> list[datetime]:
        """Every event time (and report time) of the orders that have an event at or after `since`."""
        ...

    async def first_order_at(self) -> datetime | None: ...
    async def mark(self) -> datetime | None:
        """When the roll-up last looked for changes (None: never, so the whole history is due)."""
        ...

    async def set_mark(self, at: datetime) -> None: ...
    async def mark_dirty(self, days: Iterable[date]) -> None:
        """Days whose rows must be recomputed (kept until done: a restart loses none)."""
        ...

    async def claim_dirty(self, limit: int = 1) -> list[date]:
        """The newest day still to recompute and up to `limit - 1` days just before it (a consecutive run),
        newest first, taken in this transaction (other replicas take others); [] when none is left."""
        ...

    async def dirty_count(self) -> int: ...
    async def orders_touching(self, start: datetime, end: datetime) -> list[OrderRecord]:
        """Orders reported or changed in [start, end), each with its whole history."""
        ...

    async def checkins(self, day: date) -> list[CheckinCount]: ...
    async def deliveries(self, start: datetime, end: datetime) -> DeliveryCount: ...
    async def replace_day(self, day: date, rows: Collection[DayRow], late: Collection[Lateness]) -> None: ...
    async def rows(
        self,
        first: date,
        last: date,
        dimensions: Collection[str],
        *,
        histograms: bool = True,
        keys: Collection[str] | None = None,
    ) -> list[DayRow]:
        """The stored rows of days first..last (inclusive) of these dimensions (`histograms=False`: counts
        only, the duration histograms left empty; `keys`: only these keys, e.g. one grid)."""
        ...

    async def totals(
        self, first: date, last: date, dimensions: Collection[str], durations: Collection[str]
    ) -> list[DayRow]:
        """Each (dimension, key) summed over days first..last (as a row dated `first`); the duration
        histograms are read and merged only for the dimensions in `durations` (they are the bulk)."""
        ...

    async def claim_unbuilt_month(self, before: date) -> date | None:
        """The latest month before `before` whose month rows are not the sum of its day rows now."""
        ...

    async def build_month(self, month: date) -> int:
        """Sum the month's day rows into its month rows (which `totals` then reads); returns the row count."""
        ...

    async def late_orders(self, first: date, last: date) -> list[OrderLine]: ...
    async def open_overdue(self, now: datetime) -> list[OrderLine]: ...
    async def dissatisfied(self, start: datetime, end: datetime) -> list[OrderLine]: ...
    def export(self, selection: OrderFilter) -> AsyncIterator[OrderLine]:
        """Orders of the filter in report order, streamed (an export may hold the whole history)."""
        ...


@runtime_checkable
class HasStatistics(Protocol):
    """A unit of work that carries the statistics repository (storage's does)."""

    @property
    def statistics(self) -> StatisticsRepository: ...


def statistics_of(uow: object) -> StatisticsRepository:
    """The statistics repository of a unit of work; a unit of work without one is a wiring mistake."""
    if not isinstance(uow, HasStatistics):
        raise TypeError("this unit of work has no statistics repository")
    return uow.statistics
