"""One order's contribution to the day rows: which counters it adds, on which local day, for whom.

Every contribution falls on the day of one of the order's own events (its report included), so recomputing
the days an order touched is enough when it changes. Definitions: handlers/statistics/metrics.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from handlers.statistics.histogram import add, to_minutes
from handlers.statistics.metrics import REPEAT_WINDOW, Counters
from handlers.statistics.ports import EventRecord, Lateness, OrderRecord

# Event kinds (handlers.workorders.model.EventKind values), spelled here so statistics read stored history
# without loading orders as domain objects.
ASSIGNED, ACCEPTED, TRANSFERRED, RETURNED = "assigned", "accepted", "transferred", "returned"
RESOLVED, RATED, REOPENED, CLOSED, CANCELLED = "resolved", "rated", "reopened", "closed", "cancelled"
SUPERVISED, ESCALATED = "supervised", "escalated"
_GOOD = ("satisfied", "basically")

Slot = tuple[date, int | None]  # (local day, the person credited) -> counters


@dataclass
class _Cycle:
    start: datetime
    accepted_at: datetime | None = None
    accepted_by: int | None = None
    resolved_at: datetime | None = None
    resolved_by: int | None = None
    rating: str | None = None
    by_phone: bool = False  # the rating came from staff's phone follow-up (回访), not the resident
    closed_unrated: bool = False  # closed before any rating (未评价)


def _person(note: str) -> int | None:
    """The person an ASSIGNED / TRANSFERRED event names ("person:12")."""
    kind, _, value = note.partition(":")
    return int(value) if kind == "person" and value.isdigit() else None


def _is_claim(event: EventRecord) -> bool:
    """A member took the order for themselves from the group chat: not a hand-over."""
    return (
        event.actor_kind == "person" and event.actor_id is not None and _person(event.note) == event.actor_id
    )


def is_repeat(order: OrderRecord, window: timedelta = REPEAT_WINDOW) -> bool:
    earlier = (order.previous_same_resident_at, order.previous_same_place_at)
    return any(at is not None and order.created_at - at <= window for at in earlier)


class _Tally:
    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.slots: dict[Slot, Counters] = {}

    def at(self, moment: datetime, person: int | None) -> Counters:
        key = (moment.astimezone(self.zone).date(), person)
        if key not in self.slots:
            self.slots[key] = Counters()
        return self.slots[key]


def contributions(
    order: OrderRecord, zone: tzinfo, window: timedelta = REPEAT_WINDOW
) -> tuple[dict[Slot, Counters], list[Lateness]]:
    """The order's counters per (local day, credited person), and its late stages."""
    tally = _Tally(zone)
    events = sorted(order.events, key=lambda e: e.at)  # stable: storage gives them in id order
    replayed = any(e.kind in (ASSIGNED, TRANSFERRED) and _person(e.note) is not None for e in events)
    holder: int | None = None if replayed else order.assignee_id
    first_holder = next((_person(e.note) for e in events if e.kind == ASSIGNED), None)
    opened = tally.at(order.created_at, first_holder if replayed else order.assignee_id)
    opened.new += 1
    opened.repeat += int(is_repeat(order, window))
    cycles = [_Cycle(order.created_at)]
    handed_over = False
    for event in events:
        cycle = cycles[-1]
        who = event.actor_id if event.actor_kind == "person" and event.actor_id is not None else holder
        if event.kind == ASSIGNED:
            holder = _person(event.note) if replayed else holder
        elif event.kind == TRANSFERRED:
            if not _is_claim(event):
                handed_over = True
                tally.at(event.at, holder).transferred += 1
            holder = _person(event.note) if replayed else holder
        elif event.kind == RETURNED:
            handed_over = True
            tally.at(event.at, holder).returned += 1
            holder = None if replayed else holder
        elif event.kind == ACCEPTED and cycle.accepted_at is None:
            cycle.accepted_at, cycle.accepted_by = event.at, who
            slot = tally.at(event.at, who)
            slot.accepted += 1
            add(slot.accept_minutes, to_minutes(event.at - cycle.start))
        elif event.kind == RESOLVED:
            cycle.resolved_at, cycle.resolved_by = event.at, who
            slot = tally.at(event.at, who)
            slot.resolved += 1
            add(slot.resolve_minutes, to_minutes(event.at - cycle.start))
        elif event.kind == RATED and cycle.resolved_at is not None and cycle.rating is None:
            cycle.rating = event.note
            cycle.by_phone = event.actor_kind == "person"  # only staff's 回访 rates on a resident's behalf
        elif event.kind == REOPENED:
            tally.at(event.at, cycle.resolved_by).reopened += 1
            cycles.append(_Cycle(event.at))
        elif event.kind == CLOSED:
            slot = tally.at(event.at, cycle.resolved_by)
            slot.closed += 1
            slot.first_time += int(not handed_over and len(cycles) == 1)
            cycle.closed_unrated = cycle.rating is None
        elif event.kind == CANCELLED:
            tally.at(event.at, holder).cancelled += 1
        elif event.kind == SUPERVISED:
            tally.at(event.at, holder).supervised += 1
        elif event.kind == ESCALATED:
            tally.at(event.at, holder).escalated += 1
    for cycle in cycles:
        if cycle.resolved_at is not None and cycle.rating is None and cycle.closed_unrated:
            tally.at(cycle.resolved_at, cycle.resolved_by).unrated += 1
        if cycle.resolved_at is not None and cycle.rating is not None:
            slot = tally.at(cycle.resolved_at, cycle.resolved_by)
            slot.rated += 1
            slot.phone_rated += int(cycle.by_phone)
            slot.satisfied += int(cycle.rating == "satisfied")
            slot.basically += int(cycle.rating == "basically")
            slot.unsatisfied += int(cycle.rating not in _GOOD)
    return tally.slots, _judge(order, cycles[-1], tally)


def _judge(order: OrderRecord, last: _Cycle, tally: _Tally) -> list[Lateness]:
    """The last cycle against the stored due times (a reopening set them afresh)."""
    late: list[Lateness] = []
    if last.accepted_at is not None:
        slot = tally.at(last.accepted_at, last.accepted_by)
        slot.accept_judged += 1
        due = order.accept_due_at
        if due is None or last.accepted_at <= due:
            slot.accept_on_time += 1
        else:
            day = last.accepted_at.astimezone(tally.zone).date()
            late.append(Lateness(order.id, day, "accept", due, last.accepted_at))
    if last.resolved_at is not None:
        slot = tally.at(last.resolved_at, last.resolved_by)
        slot.resolve_judged += 1
        due = order.resolve_due_at
        if due is None or last.resolved_at <= due:
            slot.resolve_on_time += 1
        else:
            day = last.resolved_at.astimezone(tally.zone).date()
            late.append(Lateness(order.id, day, "resolve", due, last.resolved_at))
    return late


def days_touched(order: OrderRecord, zone: tzinfo) -> set[date]:
    """Every local day the order has an event on (the days its contributions can fall on)."""
    days = {order.created_at.astimezone(zone).date()}
    days.update(e.at.astimezone(zone).date() for e in order.events)
    return days
