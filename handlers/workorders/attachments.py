"""A resident's photo or shared location: joins an open order or waits for the words of a report."""

from __future__ import annotations

import math

from handlers.community.model import Compound, Role
from handlers.context import Context
from handlers.ports import Conversation
from handlers.workorders import reporting, texts
from handlers.workorders.model import EventKind, OrderState
from handlers.workorders.opening import PendingReport

STEP_ATTACH = "attach"  # a photo and/or location waiting for the report's words
NEAR_ENOUGH_METRES = 2000.0  # farther than this from every compound: not in our community


def distance_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def nearest_compound(compounds: list[Compound], point: tuple[float, float]) -> Compound | None:
    placed = [c for c in compounds if c.latitude is not None and c.longitude is not None]
    if not placed:
        return None

    def away(c: Compound) -> float:
        assert c.latitude is not None
        assert c.longitude is not None
        return distance_metres(point, (c.latitude, c.longitude))

    best = min(placed, key=away)
    return best if away(best) <= NEAR_ENOUGH_METRES else None


async def on_photo(ctx: Context, photo: str) -> None:
    """A photo without a caption: add it to the latest open order, else keep it for the report to come."""
    conversation = await ctx.uow.conversations.get(ctx.chat_id)
    if conversation is not None and conversation.step == reporting.STEP_REPORT:
        # A report is waiting for a button: the photo joins it.
        pending = PendingReport.from_data(conversation.data["pending"])
        pending.photo = pending.photo or photo
        await ctx.uow.conversations.set(
            ctx.chat_id, Conversation(conversation.step, {"pending": pending.to_data()})
        )
        await ctx.answer(
            texts.PHOTO_NEEDS_WORDS if not pending.text else "📷 照片已收到，会和您的问题一起提交。"
        )
        return
    resident = ctx.resident
    if resident is not None and resident.id is not None and resident.has_consented:
        for order in await ctx.uow.orders.for_resident(resident.id):
            if not order.is_open or order.state is OrderState.RESOLVED:
                continue
            order.photos.append(photo)
            order.record(EventKind.PHOTO_ADDED, ctx.actor, ctx.clock.now())
            await ctx.uow.orders.save(order)
            await ctx.answer(texts.photo_added_resident(order.number))
            caption = texts.photo_added_member(order.number, resident.name)
            assignee = await ctx.uow.community.person(order.assignee_id) if order.assignee_id else None
            handlers = [assignee] if assignee is not None else await ctx.uow.community.people(role=Role.STAFF)
            for person in handlers:
                await ctx.say(person.chat_id, caption, order_id=order.id, thread=True, photo=photo)
            return
    await _keep(ctx, conversation, photo=photo)
    await ctx.answer(texts.PHOTO_NEEDS_WORDS)


async def on_location(ctx: Context, point: tuple[float, float]) -> None:
    """A shared location names the nearest compound, as if the resident had written its name."""
    compound = nearest_compound(await ctx.uow.community.compounds(), point)
    if compound is None:
        await ctx.answer(texts.LOCATION_FAR)
        return
    conversation = await ctx.uow.conversations.get(ctx.chat_id)
    if conversation is not None and conversation.step == reporting.STEP_REPORT and ctx.resident is not None:
        pending = PendingReport.from_data(conversation.data["pending"])
        if pending.compound_id is None:
            pending.compound_id = compound.id
            await reporting.continue_report(ctx, pending)
            return
    await _keep(ctx, conversation, compound_id=compound.id)
    await ctx.answer(texts.location_nearest(compound.name))


async def _keep(
    ctx: Context,
    conversation: Conversation | None,
    *,
    photo: str | None = None,
    compound_id: int | None = None,
) -> None:
    data = dict(conversation.data) if conversation is not None and conversation.step == STEP_ATTACH else {}
    if photo is not None:
        data["photo"] = photo
    if compound_id is not None:
        data["compound_id"] = compound_id
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_ATTACH, data))


async def report_with_attachments(ctx: Context, text: str, conversation: Conversation) -> None:
    """The words for a photo or location sent before: open the report with all of it."""
    await ctx.uow.conversations.clear(ctx.chat_id)
    photo = ctx.incoming.photo or conversation.data.get("photo")
    compound_id = conversation.data.get("compound_id")
    await reporting.report(ctx, text, photo=photo, compound_id=int(compound_id) if compound_id else None)
