"""A resident's own data: /mydata lists everything kept about them, /deletedata deletes it (after they
confirm), keeping their orders only as anonymous statistics."""

from __future__ import annotations

from handlers import verbs
from handlers.community import texts
from handlers.community.privacy import mask_phones
from handlers.community.registration import address_label
from handlers.context import Context
from handlers.errors import TransitionNotAllowed
from handlers.messages import Button
from handlers.verbs import Action, Verb
from handlers.workorders import texts as order_texts
from handlers.workorders.model import OrderState


async def my_data(ctx: Context) -> None:
    """/mydata: everything kept about the resident, from their record to the messages sent to them."""
    resident = ctx.resident
    if resident is None or resident.id is None:
        await ctx.answer(texts.NOTHING_HELD)
        return
    entry = await ctx.uow.ledger.get(resident.id)
    off = await ctx.uow.broadcasts.topics_off(resident.chat_id)
    await ctx.answer(
        texts.my_data(
            name=resident.name,
            address=await address_label(ctx, resident),
            phone=mask_phones(resident.phone) if resident.phone else None,
            consented_at=resident.consented_at,
            checkin=resident.checkin,
            ledger=entry.label if entry is not None else None,
            topics_off=sorted(topic.label for topic in off),
            held=await ctx.uow.privacy.held(resident),
        )
    )


async def delete_data(ctx: Context) -> None:
    """/deletedata: say what will be deleted and ask to confirm."""
    resident = ctx.resident
    if resident is None or resident.id is None:
        # Nothing is stored before consent but the question waiting for it: drop that too.
        await ctx.uow.conversations.clear(ctx.chat_id)
        await ctx.answer(texts.NOTHING_HELD)
        return
    held = await ctx.uow.privacy.held(resident)
    buttons = (
        (
            Button(texts.BTN_DELETE, verbs.encode(Verb.DELETE_DATA, "y")),
            Button(texts.BTN_KEEP, verbs.encode(Verb.DELETE_DATA, "n")),
        ),
    )
    await ctx.answer(texts.confirm_delete(len(held.open_orders)), buttons)


async def on_delete_confirm(ctx: Context, action: Action) -> None:
    """Delete the resident's data (y) or leave it (n); open orders are withdrawn first."""
    resident = ctx.resident
    if resident is None or resident.id is None:
        ctx.callback_answer = texts.NOTHING_HELD
        return
    if action.word("choice") != "y":
        await ctx.answer(texts.DELETE_KEPT)
        return
    open_orders = [o for o in await ctx.uow.orders.for_resident(resident.id, limit=10_000) if o.is_open]
    erased = await ctx.uow.privacy.erase(resident, texts.REDACTED)
    cancelled = 0
    for order in open_orders:
        assert order.id is not None
        current = await ctx.uow.orders.get(order.id)
        if current is None or current.state is OrderState.RESOLVED:
            continue  # resolved: only the rating was missing, and it will not come
        try:
            current.cancel(ctx.actor, ctx.clock.now())
        except TransitionNotAllowed:
            continue
        await ctx.uow.orders.save(current)
        cancelled += 1
        if current.assignee_id is not None:
            assignee = await ctx.uow.community.person(current.assignee_id)
            if assignee is not None:
                message = order_texts.cancelled_member(current.number)
                await ctx.say(assignee.chat_id, message, order_id=current.id, thread=True)
    ctx.resident = None
    await ctx.answer(texts.deleted(erased, cancelled))
