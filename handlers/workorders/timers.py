"""What the clock does to work orders: remind before the due time (催办), escalate after it."""

from __future__ import annotations

import logging

from handlers import verbs
from handlers.context import Context
from handlers.followups.rating import rating_due
from handlers.messages import Button, DeliveryPriority
from handlers.ports import Happened
from handlers.verbs import Verb
from handlers.workorders import texts
from handlers.workorders.model import Actor, EventKind, OrderState, WorkOrder
from handlers.workorders.opening import confirm_emergency
from handlers.workorders.routing import escalation_target
from handlers.workorders.sla import LAST_LEVEL, check_deadline, current_due, next_step, schedule
from nlp.types import Priority

log = logging.getLogger(__name__)

_LEVELS = {1: "网格长", 2: "社区"}


def _lane(order: WorkOrder) -> DeliveryPriority:
    """An emergency's reminders and escalations jump the queues like its first alerts."""
    return DeliveryPriority.URGENT if order.priority is Priority.URGENT else DeliveryPriority.NORMAL


def _what(order: WorkOrder) -> str:
    return "接单" if order.state in (OrderState.NEW, OrderState.ASSIGNED) else "办结"


async def run_due_timers(ctx: Context, limit: int = 50) -> int:
    """Act on every order whose timer is due (claimed in this transaction); return how many steps ran."""
    now = ctx.clock.now()
    settings = await ctx.uow.community.settings()
    steps = 0
    for order in await ctx.uow.orders.claim_due(now, limit):
        if order.emergency_check and order.is_open and now >= check_deadline(order, settings):
            # A possible emergency nobody answered: silence counts as "yes".
            await confirm_emergency(ctx, order, silent=True)
            steps += 1
            continue
        if order.state is OrderState.RESOLVED:  # waiting for the resident's rating
            steps += await rating_due(ctx, order, settings)
            continue
        step = next_step(order, now)
        if step == "remind":
            await _remind(ctx, order)
        elif step == "escalate":
            await _escalate(ctx, order)
        else:  # claimed but not due by the domain's rules (e.g. state changed): just reschedule
            schedule(order, settings, now)
            await ctx.uow.orders.save(order)
            continue
        schedule(order, settings, now)
        await ctx.uow.orders.save(order)
        steps += 1
    return steps


async def _remind(ctx: Context, order: WorkOrder) -> None:
    order.reminded = True
    due = current_due(order)
    assert due is not None
    order.record(EventKind.REMINDED, Actor.system(), ctx.clock.now(), _what(order))
    ctx.notice(Happened.REMINDED)
    if order.assignee_id is None:
        return
    assignee = await ctx.uow.community.person(order.assignee_id)
    if assignee is not None:
        text = texts.reminder(order.number, _what(order), due.strftime("%m-%d %H:%M"))
        await ctx.say(assignee.chat_id, text, order_id=order.id, thread=True, priority=_lane(order))


async def _escalate(ctx: Context, order: WorkOrder) -> None:
    """One level up: the grid leader first, then community staff (who may set 督办)."""
    order.escalation_level = min(order.escalation_level + 1, LAST_LEVEL)
    level = order.escalation_level
    order.record(EventKind.ESCALATED, Actor.system(), ctx.clock.now(), f"level {level}: {_what(order)}")
    log.info("order %s escalated to level %s", order.id, level)
    ctx.notice(Happened.ESCALATED, str(level))
    assert order.id is not None
    grid = await ctx.uow.community.grid(order.grid_id) if order.grid_id else None
    assignee = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    who = assignee.title if assignee is not None else "待派单"
    buttons: tuple[tuple[Button, ...], ...] = ()
    for person in await escalation_target(ctx.uow, grid, level):
        if person.is_staff and not order.supervised:
            buttons = ((Button(texts.BTN_SUPERVISE, verbs.encode(Verb.SUPERVISE, order.id)),),)
        text = texts.escalated(order.number, _what(order), who, _LEVELS[level])
        await ctx.say(person.chat_id, text, buttons, order_id=order.id, priority=_lane(order))
    if assignee is not None:
        message = texts.escalated_assignee(order.number, _what(order), _LEVELS[level])
        await ctx.say(assignee.chat_id, message, order_id=order.id, thread=True, priority=_lane(order))
