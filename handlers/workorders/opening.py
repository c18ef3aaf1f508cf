"""Open a work order from a resident's report and tell everyone concerned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers import texts as common_texts
from handlers import verbs
from handlers.community.model import Person, Resident, Role
from handlers.context import Context
from handlers.labels.model import LabelSource
from handlers.labels.recording import record_label
from handlers.messages import Button, DeliveryPriority
from handlers.ports import Happened
from handlers.verbs import Action, Verb
from handlers.workorders import cards, texts
from handlers.workorders.emergency import Alarm, advice_for, next_best
from handlers.workorders.groups import post_to_group
from handlers.workorders.model import Actor, EventKind, OrderLocation, OrderState, WorkOrder
from handlers.workorders.routing import Loads, Route, emergency_chain, route_order
from handlers.workorders.sla import schedule, set_due_times
from nlp.categories import Catalog
from nlp.types import Category, Priority

URGENT = DeliveryPriority.URGENT
NORMAL = DeliveryPriority.NORMAL


@dataclass
class PendingReport:
    """A report waiting for the resident to fill in what the classifier could not tell (kept in the DB)."""

    text: str
    category: str = Category.UNKNOWN.value
    priority: str = Priority.NORMAL.value
    keywords: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)  # close categories when the classifier was unsure
    confidence: float = 0.0
    chosen_by_resident: bool = False
    compound_id: int | None = None
    building_id: int | None = None
    building_number: str | None = None  # mentioned, but the compound was not known yet
    building_unsure: bool = False
    insist_new: bool = False  # the resident chose a new order over joining a similar open one
    unit: str | None = None
    room: str | None = None
    photo: str | None = None
    alarm: str = Alarm.NONE.value  # set off by the report (handlers/workorders/emergency.py)

    def to_data(self) -> dict[str, Any]:
        # What asdict gives, without its field-by-field deep copy (~20 µs a report): the lists are the only
        # mutable fields, and they are copied.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["keywords"], data["candidates"] = list(self.keywords), list(self.candidates)
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PendingReport:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


_PRIORITY_ORDER = [Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def priority_for(category: Category, suggested: Priority, categories: Catalog) -> Priority:
    """At least the category's own priority (the rules' `priority:`), or higher when suggested."""
    return max(categories.priority(category), suggested, key=_PRIORITY_ORDER.index)


async def open_order(
    ctx: Context, resident: Resident, report: PendingReport, loads: Loads | None = None
) -> WorkOrder:
    """Create, route and announce the work order; one call inside the use case's transaction.

    An alarm's advice and alerts go in the urgent lane: ahead of everything queued for those chats.
    `loads`: the open orders of those routing counts, read with the report's checks (routing.py).
    """
    assert resident.id is not None
    uow = ctx.uow
    now = ctx.clock.now()
    category = Category(report.category)
    alarm = Alarm(report.alarm)
    if alarm is Alarm.NONE and category is Category.EMERGENCY:
        alarm = Alarm.CERTAIN  # staff recording a call, a check-in: an emergency is certain
    compound = await uow.community.compound(report.compound_id) if report.compound_id else None
    building = await uow.community.building(report.building_id) if report.building_id else None
    location = OrderLocation(
        compound_id=compound.id if compound else None,
        compound_name=compound.name if compound else None,
        building_id=building.id if building else None,
        building_number=building.number if building else report.building_number,
        unit=report.unit,
        room=report.room,
    )
    suggested = Priority.URGENT if alarm.urgent else Priority(report.priority)
    order = WorkOrder(
        id=None,
        number="",  # the day's next, given as it is written (add_numbered): its counter is locked till commit
        resident_id=resident.id,
        resident_chat_id=resident.chat_id,
        text=report.text,
        category=category,
        priority=priority_for(category, suggested, ctx.categories),
        location=location,
        created_at=now,
        keywords=tuple(report.keywords),
        confidence=report.confidence,
        category_chosen_by_resident=report.chosen_by_resident,
        photos=[report.photo] if report.photo else [],
        emergency_check=alarm is Alarm.POSSIBLE,  # its timer: the check's deadline (sla.schedule)
    )
    entry = await uow.ledger.get(resident.id)
    if entry is not None and entry.active:
        # Green channel: vulnerable residents come first, and the handler is told why.
        order.green_channel = entry.label
        order.priority = priority_for(
            category, max(order.priority, Priority.HIGH, key=_PRIORITY_ORDER.index), ctx.categories
        )
    order.open(Actor("resident", resident.id), now)
    route = await route_order(uow, category, location.building_id, now, loads)
    order.grid_id = route.grid.id if route.grid else None
    if route.assignee is not None:
        order.assign(route.assignee.id, Actor.system(), now)
    set_due_times(order, now, await uow.community.settings(), ctx.calendar)
    order = await uow.orders.add_numbered(order, now.strftime("%Y%m%d"))
    assert order.id is not None
    ctx.notice(Happened.ORDER_OPENED, category.value)
    if report.chosen_by_resident:  # the resident said what the classifier could not: a labelled example
        await record_label(ctx, order, LabelSource.RESIDENT_CHOICE, category)

    if alarm.urgent:
        # The advice goes first: it must not wait behind anything else.
        await ctx.say(resident.chat_id, advice_for(alarm, report.text), priority=URGENT)
    if alarm is Alarm.POSSIBLE:
        await _ask_check(ctx, order, route, resident)
        return order
    lane = URGENT if alarm.urgent else NORMAL
    notified: list[str] = []
    if route.assignee is not None:
        await send_card(ctx, order, route.assignee, resident=resident, priority=lane)
        notified.append(route.assignee.title)
        heading = texts.EMERGENCY_HEADING if alarm.urgent else "📋 知会工单"
        for person in route.also_tell:
            await ctx.say(
                person.chat_id,
                cards.order_card(order, resident, heading, categories=ctx.categories),
                order_id=order.id,
                priority=lane,
            )
            notified.append(_role_name(person, route))
    else:
        await notify_dispatch(ctx, order, route.reason, priority=lane)
        notified.append("社区工作人员")
    # Any member of the grid may also claim it from the grid's group chat, if it has one.
    await post_to_group(ctx, order, resident)
    if category is Category.EMERGENCY:
        notified += await _alert_chain(ctx, order, route, resident)
        await ctx.say(
            resident.chat_id, texts.emergency_ack(order.number, notified), order_id=order.id, priority=URGENT
        )
    elif alarm is Alarm.FRAUD:
        await ctx.say(
            resident.chat_id, texts.fraud_ack(order.number, notified), order_id=order.id, priority=URGENT
        )
    elif route.assignee is not None:
        await ctx.say(
            resident.chat_id,
            texts.order_opened(
                order.number, ctx.categories.label(category), route.assignee.title, location.label
            ),
            order_id=order.id,
        )
    else:
        await ctx.say(
            resident.chat_id,
            texts.order_awaiting_dispatch(order.number, ctx.categories.label(category)),
            order_id=order.id,
        )
    return order


def _role_name(person: Person, route: Route) -> str:
    """How a resident hears who was alerted: by role, the handler by name."""
    if route.grid is not None and person.id == route.grid.leader_id:
        return Role.GRID_LEADER.label
    if person.is_staff:
        return Role.STAFF.label
    return person.title


async def _alert_chain(ctx: Context, order: WorkOrder, route: Route, resident: Resident | None) -> list[str]:
    """Alert the grid leader and staff (everyone above the assignee) at once; return their role names."""
    names = []
    for person in await emergency_chain(ctx.uow, route.grid, route.assignee):
        card = cards.order_card(order, resident, texts.EMERGENCY_HEADING, categories=ctx.categories)
        await ctx.say(person.chat_id, card, order_id=order.id, priority=URGENT)
        names.append(_role_name(person, route))
    return names


async def notify_dispatch(
    ctx: Context, order: WorkOrder, reason: str, *, priority: DeliveryPriority = NORMAL
) -> None:
    """Ask staff to pick a handler for an order nobody could be routed to."""
    candidates = (
        await ctx.uow.community.people(role=Role.GRID_MEMBER, grid_id=order.grid_id) if order.grid_id else []
    )
    others = [p for p in await ctx.uow.community.people(role=Role.GRID_MEMBER) if p not in candidates]
    resident = await ctx.uow.residents.get(order.resident_id)
    for staff in await ctx.uow.community.people(role=Role.STAFF):
        buttons = cards.dispatch_buttons(order, [*candidates, *others, staff])
        text = cards.order_card(
            order, resident, texts.dispatch_needed(order.number, reason), categories=ctx.categories
        )
        await ctx.say(staff.chat_id, text, buttons, order_id=order.id, priority=priority)


async def send_card(
    ctx: Context,
    order: WorkOrder,
    person: Person,
    heading: str = "📋 新工单",
    resident: Resident | None = None,
    *,
    priority: DeliveryPriority = NORMAL,
) -> None:
    """Send the order card with the actions open to its handler (photos travel with it)."""
    if resident is None:
        resident = await ctx.uow.residents.get(order.resident_id)
    photo = order.photos[0] if order.photos else None
    await ctx.say(
        person.chat_id,
        cards.order_card(order, resident, heading, categories=ctx.categories),
        cards.member_buttons(order),
        order_id=order.id,
        photo=photo,
        priority=priority,
    )


async def tell_residents(ctx: Context, order: WorkOrder, text: str, *, thread: bool = False) -> None:
    """Tell the reporter and every resident who joined the order ("me too")."""
    await ctx.say(order.resident_chat_id, text, order_id=order.id, thread=thread)
    for follower_id in order.followers:
        follower = await ctx.uow.residents.get(follower_id)
        if follower is not None:
            await ctx.say(follower.chat_id, text, order_id=order.id)


# A possible emergency (issue 11 item 5): the advice went out at once; the resident is asked whether it is
# happening now and only the grid member of that building is alerted. "Yes", or no answer before the
# community's `emergency_confirm_within` (the order's timer), alerts the grid leader and staff; "no" makes
# it an ordinary order of the next-best category.


def check_buttons(order_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(texts.BTN_CHECK_YES, verbs.encode(Verb.EMERGENCY_CHECK, order_id, "y")),
            Button(texts.BTN_CHECK_NO, verbs.encode(Verb.EMERGENCY_CHECK, order_id, "n")),
        ),
    )


async def _ask_check(ctx: Context, order: WorkOrder, route: Route, resident: Resident) -> None:
    assert order.id is not None
    await ctx.say(
        resident.chat_id, texts.EMERGENCY_CHECK, check_buttons(order.id), order_id=order.id, priority=URGENT
    )
    if route.assignee is not None:  # nobody yet without a building: silence or "yes" reaches staff
        await send_card(ctx, order, route.assignee, texts.POSSIBLE_HEADING, resident, priority=URGENT)


async def confirm_emergency(ctx: Context, order: WorkOrder, *, silent: bool) -> None:
    """ "Yes", or no answer in time: alert the grid leader and staff, as for a certain emergency."""
    assert order.id is not None
    now = ctx.clock.now()
    order.emergency_check = False
    why = "no answer to the emergency check" if silent else "the resident confirmed the emergency"
    order.record(EventKind.ESCALATED, ctx.actor if not silent else Actor.system(), now, why)
    schedule(order, await ctx.uow.community.settings(), now)  # the ordinary time limits from here
    await ctx.uow.orders.save(order)
    grid = await ctx.uow.community.grid(order.grid_id) if order.grid_id else None
    assignee = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    resident = await ctx.uow.residents.get(order.resident_id)
    route = Route(grid, assignee, "")
    notified = [assignee.title] if assignee is not None else []
    if assignee is not None:
        message = texts.check_confirmed_member(order.number, silent)
        await ctx.say(assignee.chat_id, message, order_id=order.id, thread=True, priority=URGENT)
    else:
        await notify_dispatch(ctx, order, "疑似紧急情况未能确定楼栋", priority=URGENT)
    notified += await _alert_chain(ctx, order, route, resident)
    await post_to_group(ctx, order, resident)
    text = texts.check_confirmed(order.number, notified, silent)
    await ctx.say(order.resident_chat_id, text, order_id=order.id, priority=URGENT)


async def downgrade_emergency(ctx: Context, order: WorkOrder) -> None:
    """ "No": the order goes on as an ordinary report of the next-best category (routed afresh)."""
    assert order.id is not None
    now = ctx.clock.now()
    settings = await ctx.uow.community.settings()
    category = next_best(ctx.classifier.classify(order.text))
    order.emergency_check = False
    order.record(EventKind.RECATEGORISED, ctx.actor, now, f"{order.category.value}->{category.value}")
    order.category, order.priority = category, priority_for(category, Priority.NORMAL, ctx.categories)
    if order.green_channel:
        order.priority = priority_for(category, Priority.HIGH, ctx.categories)
    previous = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
    route = await route_order(ctx.uow, category, order.location.building_id, now)
    handler = previous
    if route.assignee is not None and (previous is None or route.assignee.id != previous.id):
        # Routed afresh, e.g. fraud: the police liaison takes it (unless someone already accepted it).
        if order.state is OrderState.NEW:
            order.assign(route.assignee.id, Actor.system(), now)
            handler = route.assignee
        elif order.state is OrderState.ASSIGNED:
            order.transfer(route.assignee.id, Actor.system(), now)
            handler = route.assignee
    set_due_times(order, now, settings, ctx.calendar)
    await ctx.uow.orders.save(order)
    resident = await ctx.uow.residents.get(order.resident_id)
    if previous is not None:
        message = texts.check_denied_member(order.number, ctx.categories.label(category))
        await ctx.say(previous.chat_id, message, order_id=order.id, thread=True)
    if handler is not None and handler is not previous:
        await send_card(ctx, order, handler, resident=resident)
    if handler is None:
        await notify_dispatch(ctx, order, route.reason or "未能确定楼栋")
    await post_to_group(ctx, order, resident)
    if handler is not None:
        text = texts.order_opened(
            order.number, ctx.categories.label(category), handler.title, order.location.label
        )
    else:
        text = texts.order_awaiting_dispatch(order.number, ctx.categories.label(category))
    await ctx.say(order.resident_chat_id, text, order_id=order.id)


async def on_emergency_check(ctx: Context, action: Action) -> None:
    """The resident's answer to "是否正在发生危险" (only the reporter may answer)."""
    order = await ctx.uow.orders.get(action.order_id)
    if order is None or ctx.resident is None or order.resident_id != ctx.resident.id:
        ctx.callback_answer = common_texts.STALE_BUTTON
        return
    await _answer_check(ctx, order, action.word("choice") == "y")


async def answer_check_by_text(ctx: Context, yes: bool) -> bool:
    """A typed 是 / 不是 while the resident's possible emergency waits for it; False when none waits."""
    if ctx.resident is None or ctx.resident.id is None:
        return False
    for order in await ctx.uow.orders.for_resident(ctx.resident.id, limit=3):
        if order.emergency_check and order.is_open:
            await _answer_check(ctx, order, yes)  # what follows (alerts, or the order as usual) says so
            return True
    return False


async def _answer_check(ctx: Context, order: WorkOrder, yes: bool) -> None:
    if not order.emergency_check or not order.is_open:
        ctx.callback_answer = texts.CHECK_ALREADY  # answered before, or the timer already alerted
        return
    if yes:
        await confirm_emergency(ctx, order, silent=False)
        ctx.callback_answer = texts.CHECK_NOTED_YES
    else:
        await downgrade_emergency(ctx, order)
        ctx.callback_answer = texts.CHECK_NOTED_NO
