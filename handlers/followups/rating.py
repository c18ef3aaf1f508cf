"""A resolved order waiting for the resident's rating, driven by the order's own timer (the database is the
clock: handlers/workorders/timers.py hands resolved orders here).

From the resolution: a reminder with the rating buttons after `rating_remind_after` (24 hours by default),
then, still unrated after `rating_close_after` (7 days), the order is closed as 未评价 and put on the staff's
回访 list (handlers/followups/calls.py). An order is never closed before its reminder went out: one resolved
before this feature existed gets the reminder first and the full time after it.
"""

from __future__ import annotations

from handlers.community.settings import CommunitySettings
from handlers.context import Context
from handlers.followups import texts
from handlers.workorders import texts as order_texts
from handlers.workorders.cards import rating_buttons
from handlers.workorders.model import UNRATED, Actor, EventKind, WorkOrder


async def rating_due(ctx: Context, order: WorkOrder, settings: CommunitySettings) -> int:
    """Remind or close the resolved `order` when due, and set its next moment; return the steps taken."""
    assert order.id is not None
    now = ctx.clock.now()
    events = await ctx.uow.orders.history(order.id)
    resolved_at = max((e.at for e in events if e.kind is EventKind.RESOLVED), default=now)
    reminders = [e.at for e in events if e.kind is EventKind.RATING_REMINDED and e.at >= resolved_at]
    wait = settings.rating_close_after - settings.rating_remind_after  # from the reminder to closing
    if not reminders:
        remind_at = resolved_at + settings.rating_remind_after
        if now < remind_at:
            order.next_timer_at = remind_at
            await ctx.uow.orders.save(order)
            return 0
        await _remind(ctx, order)
        order.next_timer_at = max(resolved_at + settings.rating_close_after, now + wait)
        await ctx.uow.orders.save(order)
        return 1
    close_at = max(resolved_at + settings.rating_close_after, reminders[-1] + wait)
    if now < close_at:
        order.next_timer_at = close_at
        await ctx.uow.orders.save(order)
        return 0
    await _close_unrated(ctx, order)
    return 1


async def _remind(ctx: Context, order: WorkOrder) -> None:
    order.record(EventKind.RATING_REMINDED, Actor.system(), ctx.clock.now())
    text = texts.rating_reminder(order.number)
    await ctx.say(order.resident_chat_id, text, rating_buttons(order), order_id=order.id)


async def _close_unrated(ctx: Context, order: WorkOrder) -> None:
    """未评价: closed by the system, onto the 回访 list; the resident, followers and handler are told."""
    assert order.id is not None
    now = ctx.clock.now()
    order.close(Actor.system(), now, UNRATED)
    order.next_timer_at = None
    await ctx.uow.orders.save(order)
    await ctx.uow.followups.add(order.id, now)
    await ctx.say(order.resident_chat_id, texts.closed_unrated_resident(order.number), order_id=order.id)
    for follower_id in order.followers:
        follower = await ctx.uow.residents.get(follower_id)
        if follower is not None:
            await ctx.say(follower.chat_id, order_texts.closed_follower(order.number), order_id=order.id)
    handler = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    if handler is not None:
        message = texts.closed_unrated_member(order.number)
        await ctx.say(handler.chat_id, message, order_id=order.id, thread=True)
