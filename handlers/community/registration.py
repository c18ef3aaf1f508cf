"""A resident's first steps: welcome, consent, address registration (their own data: own_data.py)."""

from __future__ import annotations

import re

from handlers import texts, verbs
from handlers.community.model import Resident
from handlers.context import Context, rows
from handlers.messages import Button
from handlers.ports import Conversation
from handlers.verbs import Action, Verb
from handlers.workorders.opening import PendingReport

STEP_CONSENT = "consent"
STEP_ROOM = "room"
_ROOM = re.compile(r"^\d{1,5}$")


def consent_buttons() -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(texts.BTN_AGREE, verbs.encode(Verb.CONSENT, "y")),
            Button(texts.BTN_DECLINE, verbs.encode(Verb.CONSENT, "n")),
        ),
    )


async def start(ctx: Context) -> None:
    """Welcome a resident; ask for consent the first time."""
    if ctx.resident is not None and ctx.resident.has_consented:
        await ctx.answer(texts.WELCOME)
        return
    await ctx.answer(texts.WELCOME)
    await require_consent(ctx)


async def ask_compound_for_address(ctx: Context) -> None:
    compounds = await ctx.uow.community.compounds()
    buttons = [Button(c.name, verbs.encode(Verb.ADDRESS, "c", c.id)) for c in compounds]
    await ctx.answer(texts.ASK_COMPOUND, rows(buttons, 3))


async def on_register(ctx: Context, action: Action) -> None:
    if not await require_consent(ctx):
        return
    if action.word("choice") == "y":
        await ask_compound_for_address(ctx)
    else:
        await ctx.answer(texts.REGISTER_LATER)


async def on_address_step(ctx: Context, action: Action) -> None:
    """Registration by buttons: compound -> building -> unit -> room (typed, or skipped)."""
    resident = ctx.resident
    if resident is None or not resident.has_consented:
        await require_consent(ctx)
        return
    step, number = action.word("step"), action.number("id")
    uow = ctx.uow
    if step == "c":
        compound = await uow.community.compound(number)
        if compound is None:
            ctx.callback_answer = texts.STALE_BUTTON
            return
        buildings = await uow.community.buildings(compound.id)
        buttons = [Button(f"{b.number}号楼", verbs.encode(Verb.ADDRESS, "b", b.id)) for b in buildings]
        await ctx.answer(f"{compound.name}：{texts.ASK_BUILDING}", rows(buttons, 4))
    elif step == "b":
        building = await uow.community.building(number)
        if building is None:
            ctx.callback_answer = texts.STALE_BUTTON
            return
        resident.building_id, resident.unit, resident.room = building.id, None, None
        await uow.residents.save(resident)
        if building.units > 1:
            buttons = [
                Button(f"{u}单元", verbs.encode(Verb.ADDRESS, "u", u)) for u in range(1, building.units + 1)
            ]
            await ctx.answer(texts.ASK_UNIT, rows(buttons, 4))
        else:
            resident.unit = "1" if building.units == 1 else None
            await uow.residents.save(resident)
            await _ask_room(ctx)
    elif step == "u":
        # The unit must be one the resident's building has: the button data is typed by anyone.
        building = await uow.community.building(resident.building_id) if resident.building_id else None
        if building is None or not 1 <= number <= building.units:
            ctx.callback_answer = texts.STALE_BUTTON
            return
        resident.unit = str(number)
        await uow.residents.save(resident)
        await _ask_room(ctx)
    elif step == "r":  # skip the room: only while the room is being asked for
        conversation = await uow.conversations.get(ctx.chat_id)
        if number != 0 or conversation is None or conversation.step != STEP_ROOM:
            ctx.callback_answer = texts.STALE_BUTTON
            return
        await uow.conversations.clear(ctx.chat_id)
        await ctx.answer(texts.registered(await address_label(ctx, resident)))
    else:
        ctx.callback_answer = texts.STALE_BUTTON


async def _ask_room(ctx: Context) -> None:
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_ROOM))
    await ctx.answer(texts.ASK_ROOM, ((Button(texts.BTN_SKIP, verbs.encode(Verb.ADDRESS, "r", 0)),),))


async def on_room_text(ctx: Context, text: str) -> None:
    resident = ctx.resident
    if resident is None:
        await ctx.uow.conversations.clear(ctx.chat_id)
        return
    room = text.strip().removesuffix("室").removesuffix("号")
    if not _ROOM.match(room):
        await ctx.answer(texts.ROOM_INVALID, ((Button(texts.BTN_SKIP, verbs.encode(Verb.ADDRESS, "r", 0)),),))
        return
    resident.room = room
    await ctx.uow.residents.save(resident)
    await ctx.uow.conversations.clear(ctx.chat_id)
    await ctx.answer(texts.registered(await address_label(ctx, resident)))


async def address_label(ctx: Context, resident: Resident) -> str:
    if resident.building_id is None:
        return "未登记"
    building = await ctx.uow.community.building(resident.building_id)
    if building is None:
        return "未登记"
    label = building.label
    if resident.unit:
        label += f"{resident.unit}单元"
    if resident.room:
        label += resident.room
    return label


async def require_consent(ctx: Context, pending: PendingReport | None = None) -> bool:
    """True when the resident has consented; otherwise ask, keeping `pending` for afterwards."""
    if ctx.resident is not None and ctx.resident.has_consented:
        return True
    data: dict[str, object] = {"name": ctx.incoming.sender_name}
    if pending:
        data["pending"] = pending.to_data()
    await ctx.uow.conversations.set(ctx.chat_id, Conversation(STEP_CONSENT, data))
    await ctx.answer(texts.CONSENT_NEEDED if pending else texts.PRIVACY, consent_buttons())
    return False
