"""Desk actions on a work order that chat has no button for: close, change the category, an internal note.

The rest (assign, transfer, 督办, return, reply to the resident) are the chat's own use cases, called by the
desk with the same arguments a button press carries. Who may act is decided here as in chat: staff, the
order's assignee or its grid's leader (`member._order_for_handler`).
"""

from __future__ import annotations

from handlers.context import Context
from handlers.desk import texts
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.labels.correction import correct_category
from handlers.workorders import member
from handlers.workorders.model import EventKind, WorkOrder
from handlers.workorders.opening import tell_residents
from nlp.types import Category

NOTE_LIMIT = 2000


async def close_order(ctx: Context, order_id: int, note: str = "") -> WorkOrder:
    """Staff close a resolved order the resident has not rated; the resident is told."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    order = await ctx.uow.orders.get(order_id)
    if order is None:
        raise NotAuthorised("not_found")
    order.close(ctx.actor, ctx.clock.now(), note.strip()[:NOTE_LIMIT])
    order.next_timer_at = None  # nothing more is due
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.CLOSED_DESK.format(number=order.number))
    await tell_residents(ctx, order, texts.CLOSED_RESIDENT.format(number=order.number))
    return order


async def change_category(ctx: Context, order_id: int, category: Category) -> WorkOrder:
    """Correct the category: kept in the history as "old->new" and as a labelled example for the classifier
    (a staff correction, or a member's when the order's assignee or grid leader does it)."""
    order, person = await member._order_for_handler(ctx, order_id)
    if not await correct_category(ctx, order, person, category):
        await ctx.answer(texts.SAME_CATEGORY)
        return order
    message = texts.RECATEGORISED_MEMBER.format(number=order.number, label=ctx.categories.label(category))
    await ctx.answer(message)
    if order.assignee_id is not None and order.assignee_id != person.id:
        assignee = await ctx.uow.community.person(order.assignee_id)
        if assignee is not None:
            await ctx.say(assignee.chat_id, message, order_id=order.id, thread=True)
    return order


async def add_note(ctx: Context, order_id: int, text: str) -> WorkOrder:
    """An internal note in the order's history: staff and handlers read it on the desk, residents never."""
    note = text.strip()
    if not note:
        raise TransitionNotAllowed("empty_note")
    order, _ = await member._order_for_handler(ctx, order_id)
    order.record(EventKind.NOTED, ctx.actor, ctx.clock.now(), note[:NOTE_LIMIT])
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.NOTE_ADDED)
    return order
