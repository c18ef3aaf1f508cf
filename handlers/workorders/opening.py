"""Open a work order from a resident's report and tell everyone concerned."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from handlers.community.model import Person, Resident, Role
from handlers.context import Context
from handlers.ports import Happened
from handlers.workorders import cards, texts
from handlers.workorders.emergency import emergency_advice
from handlers.workorders.groups import post_to_group
from handlers.workorders.model import Actor, OrderLocation, WorkOrder
from handlers.workorders.routing import emergency_chain, route_order
from handlers.workorders.sla import set_due_times
from nlp.types import Category, Priority

_PRIORITY_OF = {
    Category.EMERGENCY: Priority.URGENT,
    Category.SAFETY_HAZARD: Priority.HIGH,
    Category.ASSISTANCE: Priority.HIGH,
}


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

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PendingReport:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


_PRIORITY_ORDER = [Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def priority_for(category: Category, suggested: Priority) -> Priority:
    implied = _PRIORITY_OF.get(category, Priority.NORMAL)
    return max(implied, suggested, key=_PRIORITY_ORDER.index)


async def open_order(ctx: Context, resident: Resident, report: PendingReport) -> WorkOrder:
    """Create, route and announce the work order; one call inside the use case's transaction."""
    assert resident.id is not None
    uow = ctx.uow
    now = ctx.clock.now()
    category = Category(report.category)
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
    day = now.strftime("%Y%m%d")
    number = f"GD{day}-{await uow.orders.next_number(day):04d}"
    order = WorkOrder(
        id=None,
        number=number,
        resident_id=resident.id,
        resident_chat_id=resident.chat_id,
        text=report.text,
        category=category,
        priority=priority_for(category, Priority(report.priority)),
        location=location,
        created_at=now,
        keywords=tuple(report.keywords),
        confidence=report.confidence,
        category_chosen_by_resident=report.chosen_by_resident,
        photos=[report.photo] if report.photo else [],
    )
    entry = await uow.ledger.get(resident.id)
    if entry is not None and entry.active:
        # Green channel: vulnerable residents come first, and the handler is told why.
        order.green_channel = entry.label
        order.priority = priority_for(category, max(order.priority, Priority.HIGH, key=_PRIORITY_ORDER.index))
    order.open(Actor("resident", resident.id), now)
    route = await route_order(uow, category, location.building_id, now)
    order.grid_id = route.grid.id if route.grid else None
    if route.assignee is not None:
        order.assign(route.assignee.id, Actor.system(), now)
    set_due_times(order, now, await uow.community.settings(), ctx.calendar)
    order = await uow.orders.add(order)
    assert order.id is not None
    ctx.notice(Happened.ORDER_OPENED, category.value)

    if category is Category.EMERGENCY:
        # The advice goes first: it must not wait behind anything else.
        await ctx.say(resident.chat_id, emergency_advice(report.text))
    if route.assignee is not None:
        await send_card(ctx, order, route.assignee, resident=resident)
        handler = route.assignee.title
        for person in route.also_tell:
            await ctx.say(person.chat_id, cards.order_card(order, resident, "📋 知会工单"), order_id=order.id)
    else:
        await notify_dispatch(ctx, order, route.reason)
        handler = "社区工作人员"
    # Any member of the grid may also claim it from the grid's group chat, if it has one.
    await post_to_group(ctx, order, resident)
    if category is Category.EMERGENCY:
        for person in await emergency_chain(uow, route.grid, route.assignee):
            await ctx.say(person.chat_id, cards.order_card(order, resident, "🆘 紧急工单"), order_id=order.id)
        await ctx.say(resident.chat_id, texts.emergency_ack(order.number, handler), order_id=order.id)
    elif route.assignee is not None:
        await ctx.say(
            resident.chat_id,
            texts.order_opened(order.number, category.label, handler, location.label),
            order_id=order.id,
        )
    else:
        await ctx.say(
            resident.chat_id, texts.order_awaiting_dispatch(order.number, category.label), order_id=order.id
        )
    return order


async def notify_dispatch(ctx: Context, order: WorkOrder, reason: str) -> None:
    """Ask staff to pick a handler for an order nobody could be routed to."""
    candidates = (
        await ctx.uow.community.people(role=Role.GRID_MEMBER, grid_id=order.grid_id) if order.grid_id else []
    )
    others = [p for p in await ctx.uow.community.people(role=Role.GRID_MEMBER) if p not in candidates]
    resident = await ctx.uow.residents.get(order.resident_id)
    for staff in await ctx.uow.community.people(role=Role.STAFF):
        buttons = cards.dispatch_buttons(order, [*candidates, *others, staff])
        text = cards.order_card(order, resident, texts.dispatch_needed(order.number, reason))
        await ctx.say(staff.chat_id, text, buttons, order_id=order.id)


async def send_card(
    ctx: Context,
    order: WorkOrder,
    person: Person,
    heading: str = "📋 新工单",
    resident: Resident | None = None,
) -> None:
    """Send the order card with the actions open to its handler (photos travel with it)."""
    if resident is None:
        resident = await ctx.uow.residents.get(order.resident_id)
    photo = order.photos[0] if order.photos else None
    await ctx.say(
        person.chat_id,
        cards.order_card(order, resident, heading),
        cards.member_buttons(order),
        order_id=order.id,
        photo=photo,
    )


async def tell_residents(ctx: Context, order: WorkOrder, text: str, *, thread: bool = False) -> None:
    """Tell the reporter and every resident who joined the order ("me too")."""
    await ctx.say(order.resident_chat_id, text, order_id=order.id, thread=thread)
    for follower_id in order.followers:
        follower = await ctx.uow.residents.get(follower_id)
        if follower is not None:
            await ctx.say(follower.chat_id, text, order_id=order.id)
