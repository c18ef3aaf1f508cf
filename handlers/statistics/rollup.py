"""Daily roll-ups: one row per local day x dimension x key, recomputed for the days a changed order touched.

The scheduler's tick (bot/schedule/jobs.py) runs `roll_up`; the database keeps what is due: a mark (when the
roll-up last looked for changes) and the dirty days. A tick first marks dirty the days of every order with an
event since the mark (less a grace period, for transactions that committed late), plus today and yesterday
(check-in answers and broadcast deliveries have no order event), then recomputes dirty days, newest first,
each in its own transaction, and then sums the days of each ended month that changed into its month rows
(storage/repositories/statistics/months.py). A first run marks every day since the first order (the backfill).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from handlers.ports import Clock, UnitOfWork, UnitOfWorkFactory
from handlers.statistics.facts import contributions
from handlers.statistics.metrics import Counters
from handlers.statistics.ports import (
    CheckinCount,
    DayRow,
    DeliveryCount,
    Lateness,
    OrderRecord,
    statistics_of,
)

log = logging.getLogger(__name__)

# Crossed dimensions (compound x category, grid x category) key as "compound:category".
DIMENSIONS = ("all", "category", "compound", "grid", "assignee", "compound_category", "grid_category")
ALL = ""  # the key of the "all" dimension
NONE = "-"  # the key of "no compound / grid / assignee"
GRACE = timedelta(minutes=2)  # events of transactions that committed after the last look (they take ms)
BATCH_DAYS = 31  # consecutive dirty days recomputed in one transaction (a backfill reads each order once)


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day as aware datetimes."""
    start = datetime.combine(day, time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def key_of(value: int | str | None) -> str:
    return NONE if value is None or value == "" else str(value)


Slice = tuple[date, str, str, str, str]  # (day, category, compound, grid, person): one order's part of a day


def _cells(base: dict[Slice, Counters]) -> dict[date, dict[tuple[str, str], Counters]]:
    """Spread each (day, category, compound, grid, person) sum over the dimensions and crossed dimensions."""
    days: dict[date, dict[tuple[str, str], Counters]] = {}
    for (day, category, compound, grid, person), counters in base.items():
        cells = days.setdefault(day, {})
        for slot in (
            ("all", ALL),
            ("category", category),
            ("compound", compound),
            ("grid", grid),
            ("assignee", person),
            ("compound_category", f"{compound}:{category}"),
            ("grid_category", f"{grid}:{category}"),
        ):
            if slot not in cells:
                cells[slot] = Counters()
            cells[slot].add(counters)
    return days


def roll_up_days(
    days: Collection[date],
    zone: tzinfo,
    orders: Iterable[OrderRecord],
    checkins: Mapping[date, Iterable[CheckinCount]] | None = None,
    deliveries: Mapping[date, DeliveryCount] | None = None,
) -> dict[date, tuple[list[DayRow], list[Lateness]]]:
    """The rows of each of `days` from the orders that touched them (and the days' check-ins and deliveries).

    Each order is computed once however many of the days it touched (a backfill takes days in batches).
    """
    wanted = set(days)
    base: dict[Slice, Counters] = {}
    late: dict[date, list[Lateness]] = {day: [] for day in wanted}
    for order in orders:
        slots, lateness = contributions(order, zone)
        for item in lateness:
            if item.day in wanted:
                late[item.day].append(item)
        category, compound, grid = order.category, key_of(order.compound_id), key_of(order.grid_id)
        for (day, person), counters in slots.items():
            if day not in wanted:
                continue
            key = (day, category, compound, grid, key_of(person))
            if key in base:
                base[key].add(counters)
            else:
                base[key] = counters  # a fresh object of this order's: summed into from now on
    cells = _cells(base)
    for day in wanted:
        day_cells = cells.setdefault(day, {})
        for count in (checkins or {}).get(day, ()):
            for slot in (
                ("all", ALL),
                ("grid", key_of(count.grid_id)),
                ("compound", key_of(count.compound_id)),
            ):
                target = day_cells.setdefault(slot, Counters())
                target.checkins_asked += count.asked
                target.checkins_answered += count.answered
        fired = (deliveries or {}).get(day)
        if fired is not None and fired.deliveries:
            target = day_cells.setdefault(("all", ALL), Counters())
            target.deliveries += fired.deliveries
            target.delivered += fired.delivered
    return {
        day: (
            [DayRow(day, d, k, c) for (d, k), c in sorted(cells[day].items()) if not c.is_empty()],
            late[day],
        )
        for day in wanted
    }


def roll_up_day(
    day: date,
    zone: tzinfo,
    orders: Iterable[OrderRecord],
    checkins: Iterable[CheckinCount] = (),
    deliveries: DeliveryCount | None = None,
) -> tuple[list[DayRow], list[Lateness]]:
    """The rows of one day (see roll_up_days)."""
    fired = {day: deliveries} if deliveries is not None else {}
    return roll_up_days([day], zone, orders, {day: list(checkins)}, fired)[day]


async def recompute_days(uow: UnitOfWork, days: Collection[date], zone: tzinfo) -> int:
    """Replace the stored rows of `days` (best a contiguous run: one read covers them); returns the row count."""
    stats = statistics_of(uow)
    start, end = day_bounds(min(days), zone)[0], day_bounds(max(days), zone)[1]
    orders = await stats.orders_touching(start, end)
    checkins = {day: await stats.checkins(day) for day in days}
    deliveries = {day: await stats.deliveries(*day_bounds(day, zone)) for day in days}
    computed = roll_up_days(days, zone, orders, checkins, deliveries)
    for day in sorted(days):
        rows, late = computed[day]
        await stats.replace_day(day, rows, late)
    return sum(len(rows) for rows, _ in computed.values())


async def recompute_day(uow: UnitOfWork, day: date, zone: tzinfo) -> int:
    """Replace the stored rows of `day`; returns how many rows it has now."""
    return await recompute_days(uow, [day], zone)


def dirty_days(touched: Iterable[datetime], zone: tzinfo) -> set[date]:
    return {moment.astimezone(zone).date() for moment in touched}


async def mark_changes(uow: UnitOfWork, now: datetime, *, everything: bool = False) -> int:
    """Mark dirty the days touched since the last look (everything the first time, or when asked); move the
    mark to now."""
    stats = statistics_of(uow)
    zone = now.tzinfo
    assert zone is not None, "the clock gives aware datetimes"
    today = now.date()
    mark = await stats.mark()
    days = {today, today - timedelta(days=1)}
    if mark is None or everything:
        first = await stats.first_order_at()
        if first is not None:
            day = min(first.astimezone(zone).date(), today)
            days.update(day + timedelta(days=n) for n in range((today - day).days + 1))
    else:
        days.update(dirty_days(await stats.touched_since(mark - GRACE), zone))
    await stats.mark_dirty(sorted(d for d in days if d <= today))
    await stats.set_mark(now)
    return len(days)


async def build_months(uow_factory: UnitOfWorkFactory, before: date, limit: int = 48) -> int:
    """Sum the day rows of ended months that changed into their month rows, one month per transaction."""
    built = 0
    while built < limit:
        async with uow_factory() as uow:
            stats = statistics_of(uow)
            month = await stats.claim_unbuilt_month(before)
            if month is None:
                break
            await stats.build_month(month)
            await uow.commit()
        built += 1
    return built


@dataclass(frozen=True)
class RollupResult:
    marked: int
    recomputed: int
    left: int


async def roll_up(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    max_days: int | None = 62,
    progress: Callable[[date], None] | None = None,
    *,
    everything: bool = False,
) -> RollupResult:
    """One tick: mark what changed, then recompute up to `max_days` dirty days (None: all of them).

    `everything` recomputes every day since the first order (after a rule change, or to check the rows).
    """
    now = clock.now()
    zone = now.tzinfo
    assert zone is not None
    async with uow_factory() as uow:
        marked = await mark_changes(uow, now, everything=everything)
        await uow.commit()
    done = 0
    while max_days is None or done < max_days:
        batch = BATCH_DAYS if max_days is None else min(BATCH_DAYS, max_days - done)
        async with uow_factory() as uow:
            days = await statistics_of(uow).claim_dirty(batch)
            if not days:
                break
            await recompute_days(uow, days, zone)
            await uow.commit()
        done += len(days)
        if progress is not None:
            progress(min(days))
    built = await build_months(uow_factory, now.date().replace(day=1))
    async with uow_factory() as uow:
        left = await statistics_of(uow).dirty_count()
    if done or built:
        log.info("statistics: %s day(s) and %s month(s) recomputed, %s day(s) left", done, built, left)
    return RollupResult(marked, done, left)
