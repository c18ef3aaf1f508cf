"""A resident's side of their orders: /my, cancelling, rating, replying to the handler.

Residents who joined an order ("me too") take part too: they see it in /my, get every update, may reply to
the handler (marked as a follower), and when the reporter withdraws, the order goes on for them.
"""

from __future__ import annotations

from handlers import verbs
from handlers.community.model import Resident, Role
from handlers.context import Context, rows
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.messages import Button
from handlers.verbs import Action, Verb
from handlers.workorders import texts
from handlers.workorders.cards import timeline
from handlers.workorders.member import may_handle
from handlers.workorders.model import Actor, EventKind, OrderEvent, OrderState, Satisfaction, WorkOrder
from handlers.workorders.opening import send_card
from handlers.workorders.sla import set_due_times


async def my_orders(ctx: Context) -> None:
    """List the resident's recent orders (a cancel button for the open ones) and those they joined."""
    if ctx.resident is None or ctx.resident.id is None:
        await ctx.answer(texts.MY_NONE)
        return
    orders = await ctx.uow.orders.for_resident(ctx.resident.id)
    followed = await ctx.uow.orders.followed_by(ctx.resident.id)
    if not orders and not followed:
        await ctx.answer(texts.MY_NONE)
        return
    lines = [texts.MY_HEADER] if orders else []
    buttons: list[Button] = []
    for order in orders:
        lines.append(
            f"• {order.number} {ctx.categories.label(order.category)}｜{order.state.label}｜{_excerpt(order.text)}"
        )
        if order.state.is_open and order.state is not OrderState.RESOLVED:
            assert order.id is not None
            buttons.append(Button(f"{texts.BTN_CANCEL} {order.number}", verbs.encode(Verb.CANCEL, order.id)))
    if followed:
        # Someone else's report: its number and progress, never their words.
        lines.append(texts.MY_FOLLOWED_HEADER)
        lines += [f"• {o.number} {ctx.categories.label(o.category)}｜{o.state.label}" for o in followed]
    lines.append(texts.MY_HISTORY_HINT)
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
    """A resident withdraws one of their open orders; when others joined it, it goes on for them."""
    order = await _own_order(ctx, action.order_id)
    if order.followers and order.state is not OrderState.RESOLVED:
        await _withdraw(ctx, order)
        return
    order.cancel(ctx.actor, ctx.clock.now())
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.cancelled_resident(order.number))
    if order.assignee_id is not None:
        assignee = await ctx.uow.community.person(order.assignee_id)
        if assignee is not None:
            await ctx.say(
                assignee.chat_id, texts.cancelled_member(order.number), order_id=order.id, thread=True
            )


async def _withdraw(ctx: Context, order: WorkOrder) -> None:
    """The reporter leaves; the first follower holds the order from now on, the others still follow."""
    assert order.id is not None
    holder_id = order.followers[0]
    joined = [e for e in await ctx.uow.orders.history(order.id) if e.kind is EventKind.JOINED]
    words = next((e.note for e in joined if e.actor == Actor("resident", holder_id)), "")
    order.withdraw_reporter(ctx.actor, ctx.clock.now(), words)
    holder = await ctx.uow.residents.get(holder_id)
    order.resident_chat_id = holder.chat_id if holder is not None else 0
    await ctx.uow.orders.save(order)
    still = 1 + len(order.followers)  # the holder and whoever else still follows
    await ctx.answer(texts.withdrawn_reporter(order.number, still))
    if holder is not None:
        await ctx.say(holder.chat_id, texts.withdrawn_holder(order.number), order_id=order.id)
    for follower in await _followers(ctx, order):
        await ctx.say(follower.chat_id, texts.withdrawn_follower(order.number), order_id=order.id)
    handler = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    told = [handler] if handler is not None else await ctx.uow.community.people(role=Role.STAFF)
    for person in told:
        await ctx.say(person.chat_id, texts.withdrawn_member(order.number, still), order_id=order.id)


async def _followers(ctx: Context, order: WorkOrder) -> list[Resident]:
    found = [await ctx.uow.residents.get(rid) for rid in order.followers]
    return [r for r in found if r is not None]


async def on_rate(ctx: Context, action: Action) -> None:
    """The resident rates a resolved order; 不满意 reopens it to the same member and tells staff."""
    order = await _own_order(ctx, action.order_id)
    satisfaction = {
        "s": Satisfaction.SATISFIED,
        "b": Satisfaction.BASICALLY,
        "u": Satisfaction.UNSATISFIED,
    }.get(action.word("rating"))
    if satisfaction is None:
        raise TransitionNotAllowed("bad_rating")
    if order.state is OrderState.CLOSED and order.satisfaction is None:
        await _rate_late(ctx, order, satisfaction)
        return
    order.rate(satisfaction, ctx.actor, ctx.clock.now())
    if satisfaction is Satisfaction.UNSATISFIED:  # reopened: the clock starts again
        set_due_times(order, ctx.clock.now(), await ctx.uow.community.settings(), ctx.calendar)
    else:
        order.next_timer_at = None  # closed: the rating's reminder and 未评价 are off
    await ctx.uow.orders.save(order)
    assignee = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    if ctx.incoming.callback_message_id is not None:
        await ctx.say(
            ctx.chat_id,
            f"工单 {order.number}：您的评价是“{satisfaction.label}”。",
            edit_message_id=ctx.incoming.callback_message_id,
        )
    reopened = satisfaction is Satisfaction.UNSATISFIED
    for follower in await _followers(ctx, order):  # "me too": every update reaches them as well
        text = texts.reopened_follower(order.number) if reopened else texts.closed_follower(order.number)
        await ctx.say(follower.chat_id, text, order_id=order.id)
    if reopened:
        role = assignee.role_label if assignee is not None else Role.STAFF.label
        await ctx.answer(texts.reopened_resident(order.number, role))
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


async def _rate_late(ctx: Context, order: WorkOrder, satisfaction: Satisfaction) -> None:
    """A rating button pressed after the order closed as 未评价: still their rating, and nobody needs to
    phone them about it any more (it leaves the 回访 list). The order stays closed."""
    assert order.id is not None
    if not await ctx.uow.followups.done(order.id, ctx.clock.now(), None, satisfaction.value):
        raise TransitionNotAllowed("transition")  # not on the list (closed on the desk), or phoned already
    order.record_followup(satisfaction, ctx.actor, ctx.clock.now())
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.rated_thanks(satisfaction.label))
    assignee = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    if assignee is not None:
        message = f"工单 {order.number} 居民补充评价：{satisfaction.label}。"
        await ctx.say(assignee.chat_id, message, order_id=order.id, thread=True)


async def relay_to_handler(ctx: Context, order: WorkOrder, text: str) -> bool:
    """Pass a resident's reply on to whoever handles the order: the reporter's, or a follower's (marked as
    such, with a button to answer them). False when the order is over or not theirs."""
    resident = ctx.resident
    if not order.is_open or resident is None or resident.id is None:
        return False
    follower = resident.id in order.followers
    if order.resident_id != resident.id and not follower:
        return False
    assert order.id is not None
    order.record(EventKind.RESIDENT_REPLIED, ctx.actor, ctx.clock.now(), text)
    await ctx.uow.orders.save(order)
    handler = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    told = [handler] if handler is not None else await ctx.uow.community.people(role=Role.STAFF)
    for person in told:
        if follower:
            # Not linked to the order: a plain reply to it would reach the reporter, not this follower.
            answer = Button(
                texts.BTN_REPLY_FOLLOWER, verbs.encode(Verb.REPLY_FOLLOWER, order.id, resident.id)
            )
            message = texts.follower_says(order.number, resident.name, text)
            await ctx.say(person.chat_id, message, ((answer,),))
        else:
            message = texts.resident_says(order.number, resident.name, text)
            await ctx.say(person.chat_id, message, order_id=order.id, thread=handler is not None)
    await ctx.answer(texts.relayed_ok())
    return True


async def history(ctx: Context, args: str) -> None:
    """/history GD…: the order's timeline, for its reporter and followers, those who handle it, and staff."""
    number = args.strip().upper()
    if not number:
        await ctx.answer(texts.HISTORY_USAGE)
        return
    order = await ctx.uow.orders.by_number(number)
    if order is None or order.id is None:
        raise NotAuthorised("not_found")
    full = await may_handle(ctx, order)
    resident = ctx.resident
    theirs = resident is not None and (order.resident_id == resident.id or resident.id in order.followers)
    if not full and not theirs:
        raise NotAuthorised("not_found")  # the same answer as for no such order: numbers are guessable
    events = await ctx.uow.orders.history(order.id)
    names: dict[Actor, str] = {}
    for actor in {e.actor for e in events} | _targets(events):
        names[actor] = await _actor_name(ctx, actor, full)
    zone = ctx.clock.now().tzinfo
    await ctx.answer(timeline(order, events, names, full=full, zone=zone, categories=ctx.categories))


def _targets(events: list[OrderEvent]) -> set[Actor]:
    """People orders were assigned or transferred to ("person:12" notes)."""
    found = set()
    for event in events:
        target = event.note.removeprefix("person:")
        if (
            event.kind in (EventKind.ASSIGNED, EventKind.TRANSFERRED)
            and target.isdecimal()
            and target.isascii()
        ):
            found.add(Actor("person", int(target)))
    return found


async def _actor_name(ctx: Context, actor: Actor, full: bool) -> str:
    """People by their title; residents by name for handlers, and as "您" or "居民" for residents."""
    if actor.kind == "person" and actor.id is not None:
        person = await ctx.uow.community.person(actor.id)
        return person.title if person is not None else "工作人员"
    if actor.kind == "resident" and actor.id is not None:
        if ctx.resident is not None and actor.id == ctx.resident.id:
            return "您"
        if not full:
            return "居民"
        resident = await ctx.uow.residents.get(actor.id)
        return f"居民{resident.name}" if resident is not None else "居民"
    return "系统"
