"""Who is on duty: members register leave and return; staff see the team and what is overdue.

/leave offers to hand the member's open orders to their deputy (or the grid leader): a handed-over order is
the deputy's from then on (card, reminders, escalations, the resident's replies). /back never takes them
back silently: it lists what the deputy still holds and offers to take it back.
"""

from __future__ import annotations

from datetime import timedelta

from handlers import verbs
from handlers.community.model import HANDLING_ROLES, Person, Role
from handlers.context import Context
from handlers.errors import NotAuthorised, TransitionNotAllowed
from handlers.messages import Button
from handlers.verbs import Action, Verb
from handlers.workorders import texts
from handlers.workorders.member import reschedule
from handlers.workorders.model import Actor, EventKind, OrderState, WorkOrder
from handlers.workorders.opening import send_card, tell_residents

# Orders a hand-over moves: those someone must still accept or resolve (a resolved one waits for the rating).
_HANDED = (OrderState.ASSIGNED, OrderState.ACCEPTED)
_MOST = 100  # orders one hand-over moves: far more than one member holds

# The sentences of the hand-over (kept here: handlers/workorders/texts.py is near its size limit).
BTN_TO_DEPUTY = "交给代班人"
BTN_TO_LEADER = "交给网格长"
BTN_KEEP = "我自己继续跟进"
BTN_TAKE_BACK = "收回这些工单"
BTN_LEAVE_THEM = "让代班人继续处理"
KEPT_ON_LEAVE = "好的，这些工单仍由您负责，到期提醒和超时上报也会发给您。"
KEPT_AFTER_BACK = "好的，这些工单仍由代班人处理，办结后居民会收到通知。"
NOTHING_TO_HAND = "这些工单已经不在您手上了。"
NOBODY_TO_HAND_TO = "没有在岗的代班人或网格长可以交接，这些工单仍由您负责；需要调整请联系社区工作人员。"


def _offer(numbers: list[str]) -> str:
    return f"您手上还有 {len(numbers)} 张未完成的工单：{'、'.join(numbers)}。\n请假期间交给谁继续处理？"


def _handed_to(who: str, numbers: list[str]) -> str:
    return f"已把 {len(numbers)} 张工单交给{who}：{'、'.join(numbers)}。销假后发送 /back 可以收回。"


def _handover_heading(who: str) -> str:
    return f"📋 代班转交（{who}请假）"


def _still_with(lines: list[str]) -> str:
    return "以下工单仍由代班人处理：\n" + "\n".join(lines) + "\n要收回自己处理吗？"


def _taken_back(numbers: list[str]) -> str:
    return f"已收回 {len(numbers)} 张工单：{'、'.join(numbers)}。"


def _taken_back_from(who: str, number: str) -> str:
    return f"工单 {number} 已由{who}销假后收回，您无需再处理。"


async def leave(ctx: Context, _args: str) -> None:
    """/leave: new orders go to the member's deputy until /back; open ones are offered to them."""
    person = await _set_leave(ctx, True)
    if person is None:
        return
    orders = await _holding(ctx, person.id)
    if not orders:
        return
    targets = await _targets(ctx, person)
    if not targets:
        await ctx.answer(NOBODY_TO_HAND_TO)
        return
    buttons = [Button(f"{label} {p.name}", verbs.encode(Verb.HANDOVER, code)) for code, label, p in targets]
    buttons.append(Button(BTN_KEEP, verbs.encode(Verb.HANDOVER, "k")))
    await ctx.answer(_offer([o.number for o in orders]), tuple((b,) for b in buttons))


async def back(ctx: Context, _args: str) -> None:
    """/back: new orders come to the member again; what the deputy still holds is listed, not taken."""
    person = await _set_leave(ctx, False)
    if person is None:
        return
    handed = await _handed_over(ctx, person)
    if not handed:
        return
    lines = [f"• {order.number}（{holder.title}）" for order, holder in handed]
    buttons = (
        (Button(BTN_TAKE_BACK, verbs.encode(Verb.HANDOVER, "b")),),
        (Button(BTN_LEAVE_THEM, verbs.encode(Verb.HANDOVER, "k")),),
    )
    await ctx.answer(_still_with(lines), buttons)


async def _set_leave(ctx: Context, on_leave: bool) -> Person | None:
    person = ctx.person
    if person is None or not person.has(*HANDLING_ROLES):
        await ctx.answer(texts.LEAVE_NOT_MEMBER)
        return None
    await ctx.uow.community.set_leave(person.id, on_leave)
    await ctx.answer(texts.LEAVE_ON if on_leave else texts.LEAVE_OFF)
    for staff in await ctx.uow.community.people(role=Role.STAFF):
        if staff.id != person.id:
            await ctx.say(staff.chat_id, texts.leave_changed(person.title, on_leave))
    return person


async def _holding(ctx: Context, person_id: int) -> list[WorkOrder]:
    orders = await ctx.uow.orders.open_orders(limit=_MOST, assignee_id=person_id)
    return [o for o in orders if o.state in _HANDED]


async def _targets(ctx: Context, person: Person, *, on_duty: bool = True) -> list[tuple[str, str, Person]]:
    """Who may take the orders: the deputy, then the grid leader (with `on_duty`, only when available)."""
    now = ctx.clock.now()
    found: list[tuple[str, str, Person]] = []
    deputy = await ctx.uow.community.person(person.deputy_id) if person.deputy_id else None
    if deputy is not None and deputy.id != person.id and (deputy.available(now) or not on_duty):
        found.append(("d", BTN_TO_DEPUTY, deputy))
    grid = await ctx.uow.community.grid(person.grid_id) if person.grid_id else None
    leader = await ctx.uow.community.person(grid.leader_id) if grid and grid.leader_id else None
    taken = {person.id, *(p.id for _, _, p in found)}
    if leader is not None and leader.id not in taken and (leader.available(now) or not on_duty):
        found.append(("l", BTN_TO_LEADER, leader))
    return found


async def on_handover(ctx: Context, action: Action) -> None:
    """The buttons under /leave (hand over, or keep) and /back (take back, or leave with the deputy)."""
    person = ctx.person
    if person is None or not person.has(*HANDLING_ROLES):
        raise NotAuthorised("not_a_member")
    choice = action.word("choice")
    if choice == "k":
        ctx.callback_answer = KEPT_ON_LEAVE if person.on_leave else KEPT_AFTER_BACK
        await _close_offer(ctx, ctx.callback_answer)
        return
    if choice == "b":
        await _take_back(ctx, person)
        return
    if not person.on_leave:  # a /leave button pressed after /back
        raise TransitionNotAllowed("not_on_leave")
    target = next((p for code, _, p in await _targets(ctx, person) if code == choice), None)
    if target is None:
        raise TransitionNotAllowed("no_target")
    orders = await _holding(ctx, person.id)
    if not orders:
        ctx.callback_answer = NOTHING_TO_HAND
        await _close_offer(ctx, NOTHING_TO_HAND)
        return
    for order in orders:
        await _move(ctx, order, target, _handover_heading(person.title))
    done = _handed_to(target.title, [o.number for o in orders])
    ctx.callback_answer = done
    await _close_offer(ctx, done)


async def _move(ctx: Context, order: WorkOrder, to: Person, heading: str) -> None:
    """Transfer one order: the new holder gets the card, reminders and escalations; residents are told."""
    order.transfer(to.id, ctx.actor, ctx.clock.now())
    await reschedule(ctx, order)
    await ctx.uow.orders.save(order)
    await send_card(ctx, order, to, heading)
    await tell_residents(ctx, order, texts.order_transferred_resident(order.number, to.title))


async def _handed_over(ctx: Context, person: Person) -> list[tuple[WorkOrder, Person]]:
    """Open orders this person transferred to their deputy or grid leader that those still hold."""
    mine = Actor("person", person.id)
    found: list[tuple[WorkOrder, Person]] = []
    for _, _, holder in await _targets(ctx, person, on_duty=False):
        moved = f"person:{holder.id}"
        for order in await _holding(ctx, holder.id):
            assert order.id is not None
            events = await ctx.uow.orders.history(order.id)
            if any(e.kind is EventKind.TRANSFERRED and e.actor == mine and e.note == moved for e in events):
                found.append((order, holder))
    return found


async def _take_back(ctx: Context, person: Person) -> None:
    if person.on_leave:  # a /back button pressed after another /leave
        raise TransitionNotAllowed("on_leave")
    handed = await _handed_over(ctx, person)
    if not handed:
        ctx.callback_answer = NOTHING_TO_HAND
        await _close_offer(ctx, NOTHING_TO_HAND)
        return
    for order, holder in handed:
        await _move(ctx, order, person, "📋 销假收回")
        await ctx.say(holder.chat_id, _taken_back_from(person.title, order.number), order_id=order.id)
    done = _taken_back([o.number for o, _ in handed])
    ctx.callback_answer = done
    await _close_offer(ctx, done)


async def _close_offer(ctx: Context, text: str) -> None:
    """Replace the offer (and its buttons) by what was done, so it cannot be pressed twice."""
    if ctx.incoming.callback_message_id is not None:
        await ctx.say(ctx.chat_id, text, edit_message_id=ctx.incoming.callback_message_id)
    else:
        await ctx.answer(text)


async def team(ctx: Context, _args: str) -> None:
    """/team (staff): every member with their status, deputy and open orders."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    now = ctx.clock.now()
    members = [p for p in await ctx.uow.community.people() if p.has(Role.GRID_MEMBER, Role.GRID_LEADER)]
    load = await ctx.uow.orders.open_count_by_assignee([p.id for p in members])
    lines = [texts.TEAM_HEADER]
    for person in members:
        status = "请假" if person.on_leave else ("在岗" if person.available(now) else "非值班时间")
        deputy = await ctx.uow.community.person(person.deputy_id) if person.deputy_id else None
        extra = f"｜代班：{deputy.name}" if deputy is not None else ""
        lines.append(f"• {person.title}｜{status}｜未完成 {load.get(person.id, 0)} 张{extra}")
    await ctx.answer("\n".join(lines))


async def overdue(ctx: Context, _args: str) -> None:
    """/overdue (staff): open orders past their due time, most overdue first."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    orders = await ctx.uow.orders.overdue(ctx.clock.now())
    if not orders:
        await ctx.answer(texts.NO_OVERDUE)
        return
    lines = [texts.OVERDUE_HEADER]
    for order in orders[:30]:
        flag = "【督办】" if order.supervised else ""
        due = order.resolve_due_at if order.state.value == "accepted" else order.accept_due_at
        when = due.strftime("%m-%d %H:%M") if due else "-"
        lines.append(
            f"• {flag}{order.number} {ctx.categories.label(order.category)}｜{order.state.label}｜应于 {when}"
        )
    await ctx.answer("\n".join(lines))


async def stats(ctx: Context, args: str) -> None:
    """/stats [days] (staff): orders opened by category, open by state, overdue, satisfaction."""
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    # isascii: "²".isdigit() is True, but int() refuses it
    days = int(args) if args.isascii() and args.isdigit() and 0 < int(args) <= 3660 else 30
    now = ctx.clock.now()
    figures = await ctx.uow.orders.statistics(now - timedelta(days=days), now)
    await ctx.answer(texts.statistics(days, figures, ctx.categories.label))
