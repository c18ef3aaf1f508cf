"""A resident's side of their orders: /my, cancelling, rating, replying to the handler."""

from __future__ import annotations

from handlers import verbs as callbacks
from handlers.community.model import Role
from handlers.context import Context, rows
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.messages import Button
from handlers.verbs import Action
from handlers.workorders import texts
from handlers.workorders.model import EventKind, Satisfaction, WorkOrder
from handlers.workorders.opening import send_card
from handlers.workorders.sla import set_due_times


async def my_orders(ctx: Context) -> None:
    """List the resident's recent orders, with a cancel button for the open ones."""
    if ctx.resident is None or ctx.resident.id is None:
        await ctx.answer(texts.MY_NONE)
        return
    orders = await ctx.uow.orders.for_resident(ctx.resident.id)
    if not orders:
        await ctx.answer(texts.MY_NONE)
        return
    lines = [texts.MY_HEADER]
    buttons: list[Button] = []
    for order in orders:
        lines.append(f"• {order.number} {order.category.label}｜{order.state.label}｜{_excerpt(order.text)}")
        if order.state.is_open and order.state.value != "resolved":
            assert order.id is not None
            buttons.append(Button(f"{texts.BTN_CANCEL} {order.number}", callbacks.encode("cx", order.id)))
    await ctx.answer("\n".join(lines), rows(buttons, 1))


def _excerpt(text: str, size: int = 20) -> str:
    return text if len(text) <= size else text[:size] + "…"


async def _own_order(ctx: Context, order_id: int) -> WorkOrder:
    order = await ctx.uow.orders.get(order_id)
    if order is None:
        raise NotAuthorised("not_found")
    if ctx.resident is None or order.resident_id != ctx.resident.id:
        raise NotAuthorised("not_owner")
    return order


async def on_cancel(ctx: Context, action: Action) -> None:
    """A resident withdraws one of their open orders."""
    order = await _own_order(ctx, action.int_arg(0))
    order.cancel(ctx.actor, ctx.clock.now())
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.cancelled_resident(order.number))
    if order.assignee_id is not None:
        assignee = await ctx.uow.community.person(order.assignee_id)
        if assignee is not None:
            await ctx.say(
                assignee.chat_id, texts.cancelled_member(order.number), order_id=order.id, thread=True
            )


async def on_rate(ctx: Context, action: Action) -> None:
    """The resident rates a resolved order; 不满意 reopens it to the same member and tells staff."""
    order = await _own_order(ctx, action.int_arg(0))
    satisfaction = {
        "s": Satisfaction.SATISFIED,
        "b": Satisfaction.BASICALLY,
        "u": Satisfaction.UNSATISFIED,
    }.get(action.args[1])
    if satisfaction is None:
        raise TransitionNotAllowed("bad_rating")
    order.rate(satisfaction, ctx.actor, ctx.clock.now())
    if satisfaction is Satisfaction.UNSATISFIED:  # reopened: the clock starts again
        set_due_times(order, ctx.clock.now(), await ctx.uow.community.settings(), ctx.calendar)
    await ctx.uow.orders.save(order)
    assignee = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    if ctx.incoming.callback_message_id is not None:
        await ctx.say(
            ctx.chat_id,
            f"工单 {order.number}：您的评价是“{satisfaction.label}”。",
            edit_message_id=ctx.incoming.callback_message_id,
        )
    if satisfaction is Satisfaction.UNSATISFIED:
        await ctx.answer(texts.reopened_resident(order.number))
        handler = assignee.title if assignee else "社区工作人员"
        if assignee is not None:
            await send_card(ctx, order, assignee, texts.reopened_member(order.number))
        for staff in await ctx.uow.community.people(role=Role.STAFF):
            await ctx.say(staff.chat_id, texts.reopened_staff(order.number, handler), order_id=order.id)
    else:
        await ctx.answer(texts.rated_thanks(satisfaction.label))
        if assignee is not None:
            await ctx.say(
                assignee.chat_id,
                f"工单 {order.number} 居民评价：{satisfaction.label}，已归档。",
                order_id=order.id,
                thread=True,
            )


async def relay_to_handler(ctx: Context, order: WorkOrder, text: str) -> bool:
    """Pass a resident's reply on to whoever handles the order. False when the order is over."""
    if not order.is_open or ctx.resident is None or order.resident_id != ctx.resident.id:
        return False
    order.record(EventKind.RESIDENT_REPLIED, ctx.actor, ctx.clock.now(), text)
    await ctx.uow.orders.save(order)
    message = texts.resident_says(order.number, ctx.resident.name, text)
    if order.assignee_id is not None:
        assignee = await ctx.uow.community.person(order.assignee_id)
        if assignee is not None:
            await ctx.say(assignee.chat_id, message, order_id=order.id, thread=True)
    else:
        for staff in await ctx.uow.community.people(role=Role.STAFF):
            await ctx.say(staff.chat_id, message, order_id=order.id)
    await ctx.answer(texts.relayed_ok())
    return True
