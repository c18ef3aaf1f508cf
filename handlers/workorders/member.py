"""Grid-member and staff side of a work order: accept, transfer, return, resolve, relay, dispatch."""

from __future__ import annotations

from handlers import verbs
from handlers.community.model import Person, Resident, Role
from handlers.community.privacy import mask_phones
from handlers.context import Context, rows
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.messages import Button
from handlers.ports import Conversation
from handlers.verbs import Action, Verb
from handlers.workorders import texts
from handlers.workorders.cards import member_buttons, order_card, rating_buttons
from handlers.workorders.model import EventKind, OrderState, WorkOrder
from handlers.workorders.opening import notify_dispatch, send_card, tell_residents
from handlers.workorders.sla import schedule, start_rating_clock, start_stage

STEP_RESOLVE_NOTE = "resolve_note"
STEP_FOLLOWER_REPLY = "follower_reply"  # the handler's words for one "me too" follower
ORDERS_PER_PAGE = 20


async def _order_for_handler(ctx: Context, order_id: int) -> tuple[WorkOrder, Person]:
    """Load an order the acting person may handle: its assignee, its grid's leader, or staff."""
    person = ctx.person
    if person is None:
        raise NotAuthorised("not_a_member")
    order = await ctx.uow.orders.get(order_id)
    if order is None:
        raise NotAuthorised("not_found")
    if person.is_staff or order.assignee_id == person.id:
        return order, person
    grid = await ctx.uow.community.grid(order.grid_id) if order.grid_id else None
    if grid is not None and grid.leader_id == person.id:
        return order, person
    raise NotAuthorised("not_assignee")


async def _refresh_card(ctx: Context, order: WorkOrder, text: str) -> None:
    """Replace the pressed card's buttons by those of the order's new state."""
    message_id = ctx.incoming.callback_message_id
    if message_id is None:
        return
    resident = await ctx.uow.residents.get(order.resident_id)
    await ctx.say(
        ctx.chat_id,
        order_card(order, resident, text, categories=ctx.categories),
        member_buttons(order),
        order_id=order.id,
        edit_message_id=message_id,
    )


async def on_accept(ctx: Context, action: Action) -> None:
    """The assignee takes the order on; the resident hears who handles it."""
    order, person = await _order_for_handler(ctx, action.order_id)
    if order.assignee_id != person.id and not person.is_staff:
        raise NotAuthorised("not_assignee")
    order.accept(ctx.actor, ctx.clock.now())
    await reschedule(ctx, order, new_stage=True)  # the resolution clock's own reminder and escalation
    await ctx.uow.orders.save(order)
    ctx.callback_answer = texts.accepted_member(order.number)
    await _refresh_card(ctx, order, "📋 已接单")
    await tell_residents(ctx, order, texts.order_accepted(order.number, person.title, person.role_label))


async def on_transfer_menu(ctx: Context, action: Action) -> None:
    order, person = await _order_for_handler(ctx, action.order_id)
    if order.state not in (OrderState.ASSIGNED, OrderState.ACCEPTED):
        raise TransitionNotAllowed("transition")
    assert order.id is not None
    candidates = await _transfer_candidates(ctx, order)
    if not candidates:
        await ctx.answer(texts.NO_TRANSFER_TARGET)
        return
    buttons = [Button(p.title, verbs.encode(Verb.TRANSFER_TO, order.id, p.id)) for p in candidates]
    await ctx.answer(f"{order.number} {texts.ASK_TRANSFER_TO}", rows(buttons, 2))


async def _transfer_candidates(ctx: Context, order: WorkOrder) -> list[Person]:
    """Members of the order's grid first, then other grid members, the grid leader and staff."""
    community = ctx.uow.community
    same_grid = await community.people(role=Role.GRID_MEMBER, grid_id=order.grid_id) if order.grid_id else []
    others = await community.people(role=Role.GRID_MEMBER)
    leaders = await community.people(role=Role.GRID_LEADER)
    staff = await community.people(role=Role.STAFF)
    seen: dict[int, Person] = {}
    for p in [*same_grid, *leaders, *others, *staff]:
        if p.id != order.assignee_id:
            seen.setdefault(p.id, p)
    return list(seen.values())[:12]


async def on_transfer_to(ctx: Context, action: Action) -> None:
    """Hand the order to another member; they get the card, the resident is told."""
    order, _ = await _order_for_handler(ctx, action.order_id)
    target = await ctx.uow.community.person(action.number("person_id"))
    if target is None or not target.has(Role.GRID_MEMBER, Role.GRID_LEADER, Role.STAFF, Role.BUILDING_LEADER):
        raise NotAuthorised("bad_target")
    order.transfer(target.id, ctx.actor, ctx.clock.now())
    await reschedule(ctx, order)
    await ctx.uow.orders.save(order)
    ctx.callback_answer = texts.transferred_member(order.number, target.title)
    await ctx.answer(texts.transferred_member(order.number, target.title))
    await send_card(ctx, order, target, "📋 转派工单")
    await tell_residents(ctx, order, texts.order_transferred_resident(order.number, target.title))


async def on_return(ctx: Context, action: Action) -> None:
    """Send the order back to community staff for dispatch (e.g. it is not this grid's business)."""
    order, person = await _order_for_handler(ctx, action.order_id)
    order.return_to_dispatch(ctx.actor, ctx.clock.now(), f"退回：{person.name}")
    await reschedule(ctx, order)
    await ctx.uow.orders.save(order)
    ctx.callback_answer = texts.returned_member(order.number)
    await ctx.answer(texts.returned_member(order.number))
    await notify_dispatch(ctx, order, f"{person.title}退回")


async def on_resolve(ctx: Context, action: Action) -> None:
    """Ask the handler for the resolution note the resident will read."""
    order, _ = await _order_for_handler(ctx, action.order_id)
    if order.state is not OrderState.ACCEPTED:
        raise TransitionNotAllowed("transition")
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_RESOLVE_NOTE, {"order_id": order.id}))
    await ctx.answer(f"{order.number} {texts.ASK_RESOLVE_NOTE}")


async def on_resolve_note(ctx: Context, text: str, order_id: int) -> None:
    """Resolve with the typed note; the resident is asked to rate."""
    note = text.strip()
    if not note:
        await ctx.answer(texts.RESOLVE_NOTE_EMPTY)
        return
    order, person = await _order_for_handler(ctx, order_id)
    await ctx.uow.conversations.clear(ctx.chat_id)
    order.resolve(note, ctx.actor, ctx.clock.now())
    # Now the rating is due: a reminder after a day, closed as 未评价 after a week (community settings).
    start_rating_clock(order, await ctx.uow.community.settings(), ctx.clock.now())
    await ctx.uow.orders.save(order)
    await ctx.answer(texts.resolved_member(order.number))
    await ctx.say(
        order.resident_chat_id,
        texts.resolved_ask_rating(order.number, person.title, note),
        rating_buttons(order),
        order_id=order.id,
    )
    for follower_id in order.followers:  # they joined the order; only the reporter rates it
        follower = await ctx.uow.residents.get(follower_id)
        if follower is not None:
            # They did not report it: the note may name the reporter's room and phone.
            masked = mask_phones(note)
            await ctx.say(follower.chat_id, texts.resolved_follower(order.number, masked), order_id=order.id)


async def relay_to_resident(ctx: Context, order: WorkOrder, text: str) -> None:
    """Pass the handler's words on to the resident, threaded under the order."""
    order, person = await _order_for_handler(ctx, order.id or 0)
    if not order.is_open:
        await ctx.answer(texts.NO_RELAY_TARGET)
        return
    order.record(EventKind.MEMBER_REPLIED, ctx.actor, ctx.clock.now(), text)
    await ctx.uow.orders.save(order)
    await ctx.say(
        order.resident_chat_id,
        texts.member_says(order.number, person.title, text),
        order_id=order.id,
        thread=True,
    )
    await ctx.answer(texts.relayed_ok())


async def on_reply_follower(ctx: Context, action: Action) -> None:
    """The handler wants to answer a follower's words: the next text they send goes to that follower."""
    order, _ = await _order_for_handler(ctx, action.order_id)
    follower = await _follower(ctx, order, action.number("resident_id"))
    data = {"order_id": order.id, "resident_id": follower.id}
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_FOLLOWER_REPLY, data))
    await ctx.answer(texts.ask_follower_reply(order.number, follower.name))


async def on_follower_reply(ctx: Context, text: str, order_id: int, resident_id: int) -> None:
    """Send the handler's words to the follower they answered (re-checked: the order may have moved on)."""
    await ctx.uow.conversations.clear(ctx.chat_id)
    order, person = await _order_for_handler(ctx, order_id)
    follower = await _follower(ctx, order, resident_id)
    if not order.is_open:
        await ctx.answer(texts.NO_RELAY_TARGET)
        return
    order.record(EventKind.MEMBER_REPLIED, ctx.actor, ctx.clock.now(), text)
    await ctx.uow.orders.save(order)
    message = texts.member_says(order.number, person.title, text)
    await ctx.say(follower.chat_id, message, order_id=order.id, thread=True)
    await ctx.answer(texts.relayed_ok())


async def _follower(ctx: Context, order: WorkOrder, resident_id: int) -> Resident:
    follower = await ctx.uow.residents.get(resident_id) if resident_id in order.followers else None
    if follower is None:
        raise NotAuthorised("not_a_follower")
    return follower


async def on_dispatch(ctx: Context, action: Action) -> None:
    """Staff assign an order nobody could be routed to."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    order = await ctx.uow.orders.get(action.order_id)
    target = await ctx.uow.community.person(action.number("person_id"))
    if order is None or target is None:
        raise NotAuthorised("not_found")
    order.assign(target.id, ctx.actor, ctx.clock.now())
    await reschedule(ctx, order)
    await ctx.uow.orders.save(order)
    ctx.callback_answer = f"已派给{target.title}"
    await ctx.answer(f"工单 {order.number} 已派给{target.title}。")
    await send_card(ctx, order, target, "📋 派单")
    await tell_residents(ctx, order, texts.order_transferred_resident(order.number, target.title))


async def reschedule(ctx: Context, order: WorkOrder, *, new_stage: bool = False) -> None:
    """Recompute the order's timer after a change; a new stage gets its own reminder and escalation."""
    settings = await ctx.uow.community.settings()
    now = ctx.clock.now()
    if new_stage:
        start_stage(order, settings, now)
    else:
        order.reminded = False  # a new assignee gets their own reminder
        schedule(order, settings, now)


async def on_supervise(ctx: Context, action: Action) -> None:
    """Staff put an order under supervision (督办): the handler and the grid leader are told."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    order = await ctx.uow.orders.get(action.order_id)
    if order is None:
        raise NotAuthorised("not_found")
    if not order.is_open or order.supervised:
        raise TransitionNotAllowed("transition")
    order.supervised = True
    order.record(EventKind.SUPERVISED, ctx.actor, ctx.clock.now())
    await ctx.uow.orders.save(order)
    ctx.callback_answer = texts.supervised_staff(order.number)
    await ctx.answer(texts.supervised_staff(order.number))
    told: set[int] = set()
    if order.assignee_id is not None:
        told.add(order.assignee_id)
    grid = await ctx.uow.community.grid(order.grid_id) if order.grid_id else None
    if grid is not None and grid.leader_id is not None:
        told.add(grid.leader_id)
    for person_id in sorted(told):
        person = await ctx.uow.community.person(person_id)
        if person is not None:
            await ctx.say(
                person.chat_id, texts.supervised_member(order.number), order_id=order.id, thread=True
            )


async def open_orders(ctx: Context, args: str = "") -> None:
    """/orders: a member's own open orders, or every open order for staff, a page at a time;
    /orders GD…: that order's card (with its buttons for whoever may handle it)."""
    if ctx.person is None:
        raise NotAuthorised("not_a_member")
    if args.strip():
        await _one_order(ctx, args.strip())
        return
    await _orders_page(ctx, 0)


async def on_orders_page(ctx: Context, action: Action) -> None:
    """The "下一页" button under /orders."""
    if ctx.person is None:
        raise NotAuthorised("not_a_member")
    await _orders_page(ctx, action.number("after"))


async def _orders_page(ctx: Context, after: int) -> None:
    person = ctx.person
    assert person is not None
    mine = None if person.is_staff else person.id
    # One more than a page: whether there is a next page, without counting them all.
    orders = await ctx.uow.orders.open_orders(limit=ORDERS_PER_PAGE + 1, after=after, assignee_id=mine)
    if not orders:
        await ctx.answer(texts.STAFF_NO_OPEN if after == 0 else texts.ORDERS_NO_MORE)
        return
    page, more = orders[:ORDERS_PER_PAGE], len(orders) > ORDERS_PER_PAGE
    lines = [texts.STAFF_OPEN_HEADER if after == 0 else texts.ORDERS_MORE_HEADER]
    for order in page:
        lines.append(
            f"• {order.number} {ctx.categories.label(order.category)}｜{order.state.label}｜{order.location.label}"
        )
    lines.append(texts.ORDERS_FIND_HINT)
    last = page[-1].id
    assert last is not None
    buttons = ((Button(texts.BTN_NEXT_PAGE, verbs.encode(Verb.ORDERS_PAGE, last)),),) if more else ()
    await ctx.answer("\n".join(lines), buttons)


async def _one_order(ctx: Context, number: str) -> None:
    order = await ctx.uow.orders.by_number(number.upper())
    if order is None:
        raise NotAuthorised("not_found")
    if not await may_handle(ctx, order):
        raise NotAuthorised("not_allowed")
    resident = await ctx.uow.residents.get(order.resident_id)
    acts = await _acts_on(ctx, order)  # the buttons only for whoever the buttons would obey
    card = order_card(order, resident, texts.FOUND_HEADING, categories=ctx.categories)
    if acts:  # linked to the order: a reply to this card reaches the resident, as on the first card
        await ctx.say(ctx.chat_id, card, member_buttons(order), order_id=order.id)
    else:
        await ctx.answer(card)


async def _acts_on(ctx: Context, order: WorkOrder) -> bool:
    try:
        await _order_for_handler(ctx, order.id or 0)
    except NotAuthorised:
        return False
    return True


async def may_handle(ctx: Context, order: WorkOrder) -> bool:
    """Staff, the order's assignee, the members of its grid and its grid leader may see it."""
    person = ctx.person
    if person is None:
        return False
    if person.is_staff or order.assignee_id == person.id:
        return True
    if order.grid_id is None:
        return False
    if person.grid_id == order.grid_id and person.has(
        Role.GRID_MEMBER, Role.GRID_LEADER, Role.BUILDING_LEADER
    ):
        return True
    grid = await ctx.uow.community.grid(order.grid_id)
    return grid is not None and grid.leader_id == person.id
