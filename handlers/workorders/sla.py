"""Service levels: when an order must be accepted and resolved, and what its timer does next.

Due times are computed once, stored on the order, and recomputed only when the clock restarts (reopened).
The timer is a single stored moment (`next_timer_at`) so the scheduler can find due orders with one
indexed query: first a reminder to the assignee (催办), then at the due time one level up (grid leader),
then after `escalate_every` the community staff.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from handlers.community.settings import CommunitySettings
from handlers.workorders.model import OrderState, WorkOrder
from nlp.types import Priority

LAST_LEVEL = 2  # 0: the assignee, 1: grid leader, 2: community staff


class WorkCalendar(Protocol):
    def is_workday(self, day: date) -> bool:
        """Chinese working day: weekdays and make-up Saturdays/Sundays, minus public holidays."""
        ...


class WeekdayCalendar:
    """Monday to Friday; the fallback where no holiday data exists."""

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5


def add_working_time(
    start: datetime, amount: timedelta, settings: CommunitySettings, calendar: WorkCalendar
) -> datetime:
    """`start` + `amount` counted only in working hours on working days; a day in `amount` is one working day."""
    open_at, close_at = settings.working_hours
    day_length = datetime.combine(date.min, close_at) - datetime.combine(date.min, open_at)
    remaining = amount.days * day_length + timedelta(seconds=amount.seconds)
    cursor = start
    for _ in range(3_660):  # ten years of days: a bound, never reached in practice
        day = cursor.date()
        opens = datetime.combine(day, open_at, tzinfo=cursor.tzinfo)
        closes = datetime.combine(day, close_at, tzinfo=cursor.tzinfo)
        if calendar.is_workday(day) and cursor < closes:
            cursor = max(cursor, opens)
            available = closes - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = datetime.combine(day + timedelta(days=1), open_at, tzinfo=cursor.tzinfo)
    return cursor


def set_due_times(
    order: WorkOrder, start: datetime, settings: CommunitySettings, calendar: WorkCalendar
) -> None:
    """Give the order its accept and resolve due times (green channel: shorter) and reset its timer."""
    rule = settings.sla_for(order.category, order.priority)
    factor = settings.green_channel_factor if order.green_channel else 1.0
    accept, resolve = rule.accept * factor, rule.resolve * factor
    if settings.working_time and order.priority is not Priority.URGENT:
        order.accept_due_at = add_working_time(start, accept, settings, calendar)
        order.resolve_due_at = add_working_time(start, resolve, settings, calendar)
    else:  # emergencies run on the wall clock, nights and holidays included
        order.accept_due_at, order.resolve_due_at = start + accept, start + resolve
    order.escalation_level, order.reminded = 0, False
    schedule(order, settings, start)


def current_due(order: WorkOrder) -> datetime | None:
    """The due time that matters now: acceptance until accepted, then resolution."""
    if order.state in (OrderState.NEW, OrderState.ASSIGNED):
        return order.accept_due_at
    if order.state is OrderState.ACCEPTED:
        return order.resolve_due_at
    return None


def schedule(order: WorkOrder, settings: CommunitySettings, now: datetime) -> None:
    """Set `next_timer_at` to the next step for the order's state (None when nothing is left to do).

    A possible emergency's check ends first: whatever else happens to the order meanwhile (accepted,
    transferred), silence past `emergency_confirm_within` still alerts the grid leader and staff.
    """
    _schedule_stage(order, settings, now)
    if order.emergency_check and order.is_open:
        deadline = check_deadline(order, settings)
        if order.next_timer_at is None or deadline < order.next_timer_at:
            order.next_timer_at = deadline


def check_deadline(order: WorkOrder, settings: CommunitySettings) -> datetime:
    """When a possible emergency nobody answered is alerted to the grid leader and staff."""
    return order.created_at + settings.emergency_confirm_within


def start_rating_clock(order: WorkOrder, settings: CommunitySettings, now: datetime) -> None:
    """The order was just resolved: its timer now waits for the resident's rating (reminder, then 未评价;
    handlers/followups/rating.py)."""
    order.reminded, order.escalation_level = False, 0
    order.next_timer_at = now + settings.rating_remind_after


def _schedule_stage(order: WorkOrder, settings: CommunitySettings, now: datetime) -> None:
    if order.state is OrderState.RESOLVED:
        return  # the rating's timer, set at the resolution, runs on whatever else happens meanwhile
    due = current_due(order)
    if due is None or order.escalation_level >= LAST_LEVEL:
        order.next_timer_at = None
        return
    if order.escalation_level == 1:
        order.next_timer_at = due + settings.escalate_every
        return
    if not order.reminded and order.assignee_id is not None:
        remind_at = due - (due - now) * settings.remind_before
        if remind_at > now:
            order.next_timer_at = remind_at
            return
    order.next_timer_at = due


def start_stage(order: WorkOrder, settings: CommunitySettings, now: datetime) -> None:
    """A new stage began (accepted; reassigned): its own reminder, escalation counted afresh."""
    order.reminded, order.escalation_level = False, 0
    schedule(order, settings, now)


def next_step(order: WorkOrder, now: datetime) -> str | None:
    """What the timer owes the order at `now`: "remind", "escalate" or nothing."""
    due = current_due(order)
    if due is None or order.next_timer_at is None or order.next_timer_at > now:
        return None
    if order.escalation_level == 0 and not order.reminded and now < due:
        return "remind"
    return "escalate"
