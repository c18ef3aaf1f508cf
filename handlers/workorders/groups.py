"""Grid group chats: a new order is posted to its grid's group, where any member of that grid may claim it."""

from __future__ import annotations

from handlers import verbs
from handlers.community.model import Resident, Role
from handlers.community.privacy import mask_phones
from handlers.context import Context
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.messages import Button
from handlers.verbs import Action, Verb
from handlers.workorders import texts
from handlers.workorders.cards import member_buttons, order_card
from handlers.workorders.model import OrderState, WorkOrder

_CLAIMABLE = (OrderState.NEW, OrderState.ASSIGNED)


async def post_to_group(ctx: Context, order: WorkOrder, resident: Resident | None) -> None:
    """Post a not-yet-accepted order to its grid's group chat, if the grid has one."""
    if order.grid_id is None or order.state not in _CLAIMABLE:
        return
    grid = await ctx.uow.community.grid(order.grid_id)
    if grid is None or grid.group_chat_id is None:
        return
    assert order.id is not None
    # Several people read a group: phone numbers a resident typed are masked there.
    text = mask_phones(
        order_card(order, resident, texts.group_card_heading(grid.name), categories=ctx.categories)
    )
    # No order_id: replies in the group are not relayed to the resident.
    await ctx.say(grid.group_chat_id, text, ((Button(texts.BTN_CLAIM, verbs.encode(Verb.CLAIM, order.id)),),))


async def on_claim(ctx: Context, action: Action) -> None:
    """A member of the order's grid claims it from the group: it becomes theirs and accepted."""
    person = ctx.person
    if person is None or not person.has(Role.GRID_MEMBER, Role.GRID_LEADER):
        raise NotAuthorised("not_a_member")
    order = await ctx.uow.orders.get(action.order_id)
    if order is None:
        raise NotAuthorised("not_found")
    if order.grid_id is None or person.grid_id != order.grid_id:
        raise NotAuthorised("other_grid")
    if order.state not in _CLAIMABLE:
        raise TransitionNotAllowed("already_taken")
    previous = order.assignee_id
    now = ctx.clock.now()
    if order.state is OrderState.NEW:
        order.assign(person.id, ctx.actor, now)
    elif previous != person.id:
        order.transfer(person.id, ctx.actor, now)
    order.accept(ctx.actor, now)
    await ctx.uow.orders.save(order)
    ctx.callback_answer = texts.claimed_member(order.number)
    resident = await ctx.uow.residents.get(order.resident_id)
    if ctx.incoming.callback_message_id is not None:
        heading = texts.claimed_group(order.number, person.title)
        await ctx.say(
            ctx.chat_id,
            mask_phones(order_card(order, resident, heading, categories=ctx.categories)),
            edit_message_id=ctx.incoming.callback_message_id,
        )
    photo = order.photos[0] if order.photos else None
    await ctx.say(
        person.chat_id,
        order_card(order, resident, "📋 已认领", categories=ctx.categories),
        member_buttons(order),
        order_id=order.id,
        photo=photo,
    )
    if previous is not None and previous != person.id:
        earlier = await ctx.uow.community.person(previous)
        if earlier is not None:
            await ctx.say(
                earlier.chat_id,
                texts.claimed_from_you(order.number, person.title),
                order_id=order.id,
                thread=True,
            )
    # The reporter and every "me too" follower (opening.tell_residents; opening imports this module).
    accepted = texts.order_accepted(order.number, person.title, person.role_label)
    await ctx.say(order.resident_chat_id, accepted, order_id=order.id)
    for follower_id in order.followers:
        follower = await ctx.uow.residents.get(follower_id)
        if follower is not None:
            await ctx.say(follower.chat_id, accepted, order_id=order.id)
